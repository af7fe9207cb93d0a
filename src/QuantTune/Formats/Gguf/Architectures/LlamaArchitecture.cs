using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>llama</c>, for the Llama, Mistral and Mixtral families: convert_hf_to_gguf.py's LlamaModel, which adds the vocabulary size
/// and the RoPE dimension count to TextModel's keys and permutes the rows of q and k (and their biases) by head, since
/// llama.cpp's llama rotates adjacent pairs where Hugging Face rotates halves (<see cref="LlamaRowPermutation"/>).
/// Mixtral's experts are written as the same converter class writes them, and a file with <c>expert_count</c> reads back
/// as Mixtral (<see cref="LlamaExperts"/>).
/// The architectures whose converter class derives from LlamaModel (<see cref="GraniteArchitecture"/>,
/// <see cref="SmolLM3Architecture"/>) derive from this one.
/// </summary>
public class LlamaArchitecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "llama";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is LlamaFamily or MistralFamily or MixtralFamily;

    /// <summary>The RoPE refusals, and for Mixtral what llama.cpp's llama cannot hold of its experts (<see cref="LlamaExperts.CheckRepresentable"/>).</summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        if (config.Experts is not null) LlamaExperts.CheckRepresentable(config, directory);
    }

    /// <summary>TextModel's and LlamaModel's keys, then for Mixtral the experts' count and how many each token uses.</summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config) =>
        config.Experts is { } moe ? base.Hyperparameters(config).Concat(LlamaExperts.Hyperparameters(Name, moe)) : base.Hyperparameters(config);

    /// <inheritdoc/>
    protected override IEnumerable<(string Key, GgufValue Value)> LeadingKeys(ModelConfig config) =>
        [(Key("vocab_size"), GgufValue.Of((uint)config.VocabSize))];

    /// <inheritdoc/>
    protected override IEnumerable<(string Key, GgufValue Value)> SizeKeys(ModelConfig config) =>
        [(Key("rope.dimension_count"), GgufValue.Of((uint)config.HeadDim))];

    /// <summary>Llama's config.json has head_dim only where it is not hidden / heads.</summary>
    protected override bool WritesHeadLength(ModelConfig config) => config.HeadDim * config.NumHeads != config.HiddenSize;

    /// <summary>The head size: <c>attention.key_length</c>, else <c>rope.dimension_count</c>, else hidden / heads.</summary>
    protected override int HeadDim(GgufFile file, int hidden, int heads) =>
        OptInt(file, Key("attention.key_length")) ?? OptInt(file, Key("rope.dimension_count")) ?? (heads > 0 ? hidden / heads : 0);

    /// <summary>Mixtral's router as <c>ffn_gate_inp</c>; the rest as TextModel's.</summary>
    public override string? TensorName(string hf) => LlamaExperts.RouterName(hf) ?? base.TensorName(hf);

    /// <summary>Mixtral's experts: slices of <c>ffn_{gate,up,down}_exps</c>.</summary>
    public override (string Gguf, int Index, int Count)? MergedInto(string hf, ModelConfig config) =>
        config.Experts is { } moe ? LlamaExperts.MergedInto(hf, moe) : null;

    /// <inheritdoc/>
    public override IReadOnlyList<string>? HfSlices(string gguf, ModelConfig config) =>
        config.Experts is { } moe ? LlamaExperts.HfSlices(gguf, moe) : null;

    /// <inheritdoc/>
    public override string? HfName(string gguf, ModelConfig config) =>
        (config.Experts is not null ? LlamaExperts.RouterHfName(gguf) : null) ?? base.HfName(gguf, config);

    /// <summary>TextModel's config; Mixtral's where the file has <c>expert_count</c> and the architecture takes Mixtral (llama's own files, not those of the architectures derived from it).</summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var config = base.ReadConfig(file);
        return ModelFamilies.All.OfType<MixtralFamily>().Any(Takes) ? LlamaExperts.ReadConfig(file, Name, config) ?? config : config;
    }

    /// <inheritdoc/>
    public override string KeyOf(string configField) => configField switch
    {
        "num_experts" or "num_local_experts" => Key("expert_count"),
        "num_experts_per_tok" => Key("expert_used_count"),
        "moe_intermediate_size" => Key("feed_forward_length"),
        _ => base.KeyOf(configField),
    };

    /// <inheritdoc/>
    public override float[] ToGguf(string gguf, long[] shape, float[] values, ModelConfig config) =>
        LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads
            ? LlamaRowPermutation.Permute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, heads)
            : values;

    /// <inheritdoc/>
    public override float[] ToHf(string gguf, long[] shape, float[] values, ModelConfig config) =>
        LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads
            ? LlamaRowPermutation.Unpermute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, heads)
            : values;

    /// <summary>Not the query and key projections, whose rows the converter permuted.</summary>
    public override bool ReadsUnchanged(string gguf, ModelConfig config) =>
        LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is null;

    /// <summary>The query and key projections: <see cref="LlamaRowPermutation.HfRowSources"/>.</summary>
    public override int[]? HfRowSources(string gguf, long[] shape, ModelConfig config) =>
        LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads
            ? LlamaRowPermutation.HfRowSources((int)shape[0], heads)
            : null;
}
