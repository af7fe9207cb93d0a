using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// gpt-oss (<c>gpt_oss</c>: gpt-oss-20b, gpt-oss-120b; transformers' modeling_gpt_oss.py). On Llama's pre-norm decoder
/// (RMSNorm as w·x̂ in fp32) it changes: q/k/v/o projections with biases (attention_bias, true by default); a learned
/// sink logit per query head in every softmax (<c>self_attn.sinks</c>, <see cref="ModelConfig.AttentionSinks"/>);
/// sliding-window layers (window sliding_window, 128) alternating with full ones from the first (layer_types); YaRN
/// RoPE (factor 32 over an original context of 4,096, base 150,000 by default); and in every layer a mixture of
/// experts (<see cref="MixtureOfExperts"/>) whose router <c>mlp.router</c> has a bias and takes the softmax of the
/// top num_experts_per_tok logits, whose num_local_experts experts of intermediate_size have biases and the clamped
/// SwiGLU (<see cref="ClampedSwiGlu"/>: swiglu_alpha, swiglu_limit), and which the checkpoint stores interleaved in
/// <c>mlp.experts.gate_up_proj</c> / <c>down_proj</c>, as MXFP4 blocks on the Hub (<see cref="Loading.InterleavedExperts"/>).
/// </summary>
public sealed class GptOssFamily : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["gpt_oss"];
    internal override double DefaultNormEps => 1e-5;
    internal override int DefaultMaxPositions => 131_072;

    /// <summary>GptOssConfig's default_theta.</summary>
    const double DefaultTheta = 150_000.0;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        int headDim = f.OptionalInt("head_dim") ?? 64;
        if (headDim <= 0 || headDim % 2 != 0) throw f.Invalid("head_dim", $"is {headDim}; expected a positive even number");
        bool bias = f.OptionalBool("attention_bias") ?? true;
        double alpha = f.OptionalDouble("swiglu_alpha") ?? 1.702;
        double limit = f.OptionalDouble("swiglu_limit") ?? 7.0;
        if (!(limit > 0) || double.IsInfinity(limit)) throw f.Invalid("swiglu_limit", $"is {limit}; expected a positive number");
        if (double.IsNaN(alpha) || double.IsInfinity(alpha)) throw f.Invalid("swiglu_alpha", $"is {alpha}; expected a finite number");
        int? window = f.Has("sliding_window") ? f.OptionalInt("sliding_window") : 128;
        if (window is <= 0) throw f.Invalid("sliding_window", $"is {window}; expected a positive integer or null");
        return c with
        {
            HeadDim = headDim,
            Norm = NormKind.ScaledInFloat32,
            QkvBias = bias,
            OutputBias = bias,
            AttentionSinks = true,
            SlidingWindow = window,
            SlidingLayers = GemmaQuirks.SlidingLayers(f, c.NumLayers, defaultPattern: 2),
            Rope = ReadRope(f),
            // GptOssConfig's defaults: 128 experts, 4 per token, each intermediate_size wide
            Experts = MixtureOfExperts.Read(f, c.NumLayers, defaultExperts: 128, defaultPerToken: 4, defaultWidth: c.IntermediateSize) with
            {
                RouterName = "router",
                RouterBias = true,
                SoftmaxOverTopK = true,
                ExpertBias = true,
                ClampedActivation = new ClampedSwiGlu(alpha, limit),
                StoredInterleaved = true,
            },
        };
    }

    /// <summary>
    /// The RoPE settings (rope_parameters or rope_scaling; base 150,000 where neither nor rope_theta gives one), or
    /// GptOssConfig's default where config.json has none: yarn, factor 32, beta_fast 32, beta_slow 1, truncate false,
    /// original_max_position_embeddings 4,096.
    /// </summary>
    static RopeConfig ReadRope(JsonField f)
    {
        double theta = f.Object("rope_parameters")?.OptionalDouble("rope_theta") ?? f.OptionalDouble("rope_theta") ?? DefaultTheta;
        if (ModelConfig.RopeScaling(f) is JsonField s) return ModelConfig.ReadRopeParameters(s, theta);
        return new RopeConfig(theta, "yarn", 32.0, OriginalMaxPositionEmbeddings: 4096)
        {
            BetaFast = 32.0,
            BetaSlow = 1.0,
            Truncate = false,
            AttentionFactor = 0.1 * Math.Log(32.0) + 1.0,
        };
    }
}
