using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>Puts a GGUF checkpoint's kept blocks (<see cref="GgufCheckpoint.Blocks"/>) into a model built on the meta device.</summary>
static class GgufLinears
{
    /// <summary>
    /// Every placeholder <see cref="Linear"/> of <paramref name="model"/> becomes a <see cref="GgufLinear"/> on its weight's blocks
    /// where the checkpoint kept them and its place can hold one, else a real <see cref="Linear"/> for the loader to fill.
    /// </summary>
    public static void Place(nn.Module model, IReadOnlyDictionary<string, GgufBlockTensor> blocks, ScalarType dtype, Device device) =>
        ModuleSurgery.ReplaceLinears(model, (path, linear) =>
            blocks.TryGetValue(path + ".weight", out var b) && ModuleSurgery.CanHold(model, path, typeof(GgufLinear))
                && b.Shape[0] == linear.OutFeatures && b.Shape[1] == linear.InFeatures
                ? new GgufLinear(b.Type, b.Bytes, linear.OutFeatures, linear.InFeatures, linear.bias is not null, device)
                : linear.IsPlaceholder ? new Linear(linear.InFeatures, linear.OutFeatures, linear.bias is not null, dtype, device) : null);

    /// <summary>Kept blocks the model had no <see cref="GgufLinear"/> for, decoded (the architecture reads them unchanged).</summary>
    public static GgufDenseTensor Dequantized(GgufBlockTensor b) =>
        new(b.Shape, GgmlCodec.Dequantize(b.Type, b.Bytes, checked((int)(b.Shape[0] * b.Shape[1]))));
}
