using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>qwen2</c>: convert_hf_to_gguf.py's Qwen2Model, TextModel's keys and llama's tensor names with q/k/v biases; rows
/// not permuted (llama.cpp's qwen2 rotates halves, as Hugging Face stores them).
/// </summary>
public sealed class Qwen2Architecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "qwen2";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Qwen2Family;

    /// <summary>Qwen2's config.json has no head_dim; the head size is hidden / heads unless a config says otherwise.</summary>
    protected override bool WritesHeadLength(ModelConfig config) => config.HeadDim * config.NumHeads != config.HiddenSize;
}
