using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// OLMo 2 (<c>olmo2</c>): Llama's decoder with the norms after each block instead of before it
/// (<see cref="NormPlacement.Post"/>: h = x + post_attention_layernorm(attn(x)); out = h +
/// post_feedforward_layernorm(mlp(h)); no input_layernorm), and q_norm / k_norm RMSNorms over the
/// whole q and k projections (weights [heads·head_dim] and [kv_heads·head_dim],
/// <see cref="QkNormScope.Projection"/>) before the split into heads and RoPE. attention_bias puts
/// a bias on q, k, v and o; rms_norm_eps 1e-5 and an untied head unless config.json says otherwise.
/// </summary>
public sealed class Olmo2Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["olmo2"];
    internal override double DefaultNormEps => 1e-5;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        return c with
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            Placement = NormPlacement.Post,
            QkNorm = true,
            QkNormOver = QkNormScope.Projection,
        };
    }
}
