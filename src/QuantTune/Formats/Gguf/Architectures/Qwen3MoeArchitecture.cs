using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>qwen3moe</c>: convert_hf_to_gguf.py's Qwen3MoeModel (Qwen2MoeModel's keys and stacked experts,
/// <see cref="QwenMoeArchitecture"/>) on Qwen3's decoder: the q/k norms, no shared expert. llama.cpp's qwen3moe
/// (src/models/qwen3moe.cpp) always renormalizes the top-k routing weights.
/// </summary>
public sealed class Qwen3MoeArchitecture : QwenMoeArchitecture
{
    /// <inheritdoc/>
    public override string Name => "qwen3moe";

    /// <inheritdoc/>
    public override string ModelType => "qwen3_moe";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Qwen3MoeFamily;

    /// <inheritdoc/>
    protected override bool RenormalizesTopK => true;

    /// <inheritdoc/>
    public override ModelConfig ReadConfig(GgufFile file) => base.ReadConfig(file) with { QkNorm = true };
}
