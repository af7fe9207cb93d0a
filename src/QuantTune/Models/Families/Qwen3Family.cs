using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Qwen3 (dense): Llama's decoder plus a per-head RMSNorm on queries and keys (q_norm, k_norm,
/// weight [head_dim]) before RoPE; no q/k/v bias unless attention_bias (then o too); head_dim
/// explicit (128 with hidden 1024 and 16 heads in Qwen3-0.6B); rope_theta 1e6.
/// </summary>
public sealed class Qwen3Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["qwen3"];

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        return c with
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            QkNorm = true,
            SlidingWindow = f.OptionalBool("use_sliding_window") == true ? f.OptionalInt("sliding_window") : null,
        };
    }
}
