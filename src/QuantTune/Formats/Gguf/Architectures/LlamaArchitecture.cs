using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>llama</c>, for the Llama and Mistral families: convert_hf_to_gguf.py's LlamaModel, which adds the vocabulary size
/// and the RoPE dimension count to TextModel's keys and permutes the rows of q and k (and their biases) by head, since
/// llama.cpp's llama rotates adjacent pairs where Hugging Face rotates halves (<see cref="LlamaRowPermutation"/>).
/// The architectures whose converter class derives from LlamaModel (<see cref="GraniteArchitecture"/>,
/// <see cref="SmolLM3Architecture"/>) derive from this one.
/// </summary>
public class LlamaArchitecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "llama";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is LlamaFamily or MistralFamily;

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
