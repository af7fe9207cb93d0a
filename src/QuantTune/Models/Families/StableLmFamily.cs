using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// StableLM (<c>stablelm</c>, modeling_stablelm.py: StableLM-2, StableLM-3B-4E1T, StableCode): Llama's decoder with
/// LayerNorm (weight and bias, <c>layer_norm_eps</c>) in place of RMSNorm, before attention, before the MLP and at the
/// end; RoPE on the first <c>partial_rotary_factor</c> of each head (0.25 by default); a bias on q, k and v under
/// <c>use_qkv_bias</c>, none on o_proj or the MLP; head untied by default. The per-head q/k LayerNorms
/// (<c>qk_layernorm</c>) and the parallel residual (<c>use_parallel_residual</c>) of StableLM-2-12B are refused by name.
/// </summary>
public sealed class StableLmFamily : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["stablelm"];

    internal override string KeyOf(JsonField f, string sharedKey) => sharedKey == "rms_norm_eps" ? "layer_norm_eps" : sharedKey;

    internal override double DefaultNormEps => 1e-5;
    internal override int DefaultMaxPositions => 4096;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        if (f.OptionalBool("qk_layernorm") == true)
            throw f.Invalid("qk_layernorm", "is true: per-head q/k LayerNorms (StableLM-2-12B) are not built by QuantTune yet; expected false");
        if (f.OptionalBool("use_parallel_residual") == true)
            throw f.Invalid("use_parallel_residual", "is true: the parallel residual (StableLM-2-12B) is not built by QuantTune yet; expected false");
        if (c.HeadDim * c.NumHeads != c.HiddenSize)
            throw f.Invalid("num_attention_heads", $"{c.NumHeads} heads of {c.HeadDim} do not make hidden_size {c.HiddenSize}; StableLmAttention's head size is hidden_size / num_attention_heads");
        double partial = PartialRotary.Read(f, c.HeadDim, fallback: 0.25);
        return c with
        {
            Norm = NormKind.LayerNorm,
            PartialRotaryFactor = partial,
            QkvBias = f.OptionalBool("use_qkv_bias") ?? false,
            OutputBias = false,
            MlpBias = false,
        };
    }
}
