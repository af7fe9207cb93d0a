using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>Puts a GGUF checkpoint's kept blocks (<see cref="GgufCheckpoint.Blocks"/>) into a model built on the meta device.</summary>
static class GgufLinears
{
    /// <summary>
    /// Every placeholder <see cref="Linear"/> of <paramref name="model"/> becomes a <see cref="GgufLinear"/> on its weight's blocks
    /// where the checkpoint kept them and its place can hold one, else a real <see cref="Linear"/> for the loader to fill; but the
    /// LM head stays a placeholder when its blocks were kept (<see cref="Head"/> runs it on them).
    /// </summary>
    public static void Place(CausalLM model, IReadOnlyDictionary<string, GgufBlockTensor> blocks, ScalarType dtype, Device device) =>
        ModuleSurgery.ReplaceLinears(model, (path, linear) =>
            !blocks.TryGetValue(path + ".weight", out var b) || b.Shape[0] != linear.OutFeatures || b.Shape[1] != linear.InFeatures
                ? Real(linear, dtype, device)
                : ModuleSurgery.CanHold(model, path, typeof(GgufLinear))
                    ? new GgufLinear(b.Type, b.Bytes, linear.OutFeatures, linear.InFeatures, linear.bias is not null, device)
                    : ReferenceEquals(linear, model.lm_head) && linear.bias is null ? null : Real(linear, dtype, device));

    static Linear? Real(Linear linear, ScalarType dtype, Device device) =>
        linear.IsPlaceholder ? new Linear(linear.InFeatures, linear.OutFeatures, linear.bias is not null, dtype, device) : null;

    /// <summary>
    /// A <see cref="GgufLinear"/> on the LM head's blocks (lm_head.weight, or the embedding table when tied), or null when they
    /// were not kept. An lm_head left a placeholder by <see cref="Place"/> keeps no float weight.
    /// </summary>
    public static GgufLinear? Head(CausalLM model, IReadOnlyDictionary<string, GgufBlockTensor> blocks, Device device)
    {
        string name = model.lm_head is null ? "model.embed_tokens.weight" : "lm_head.weight";
        // The embedding's HF name follows the family's stack name (GPT-2's transformer.wte): found by the parameter itself.
        var weight = model.HeadWeight;
        string? key = model.named_parameters().FirstOrDefault(p => ReferenceEquals(p.parameter, weight) || p.parameter.Handle == weight.Handle).name ?? name;
        return blocks.TryGetValue(key, out var b) && b.Shape[0] == weight.shape[0] && b.Shape[1] == weight.shape[1]
            ? new GgufLinear(b.Type, b.Bytes, b.Shape[0], b.Shape[1], hasBias: false, device)
            : null;
    }

    /// <summary>
    /// Puts a <see cref="GgufEmbedding"/> on the token embedding's blocks in its place, when they were kept; returns the
    /// name of the table's parameter it replaced (now a meta placeholder, for the loader to skip), or null.
    /// </summary>
    public static string? PlaceEmbedding(CausalLM model, IReadOnlyDictionary<string, GgufBlockTensor> blocks, ScalarType dtype)
    {
        var embedding = model.model.embed_tokens;
        string? path = model.named_modules().FirstOrDefault(m => ReferenceEquals(m.module, embedding)).name;
        if (path is null || !blocks.TryGetValue(path + ".weight", out var b)
            || b.Shape[0] != embedding.weight.shape[0] || b.Shape[1] != embedding.weight.shape[1]) return null;
        ModuleSurgery.Replace(model, path, new GgufEmbedding(b.Type, b.Bytes, b.Shape[0], b.Shape[1], dtype));
        embedding.Dispose();
        return path + ".weight";
    }

    /// <summary>Kept blocks the model had no <see cref="GgufLinear"/> for, decoded (their rows are already in HF order).</summary>
    public static GgufDenseTensor Dequantized(GgufBlockTensor b) =>
        new(b.Shape, GgmlCodec.Dequantize(b.Type, b.Bytes, checked((int)(b.Shape[0] * b.Shape[1]))));
}
