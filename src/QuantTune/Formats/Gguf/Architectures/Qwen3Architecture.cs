using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>qwen3</c>: convert_hf_to_gguf.py's Qwen3Model (Qwen2Model's keys, with key/value length from head_dim, which
/// Qwen3's config always has), the per-head q/k norms as attn_q_norm and attn_k_norm, rows not permuted.
/// </summary>
public sealed class Qwen3Architecture : TextModelArchitecture
{
    /// <inheritdoc/>
    public override string Name => "qwen3";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Qwen3Family;

    /// <inheritdoc/>
    public override ModelConfig ReadConfig(GgufFile file) => base.ReadConfig(file) with { QkNorm = true };
}
