using QuantTune.IO;

namespace QuantTune.Models.Config;

/// <summary>
/// YaRN RoPE scaling as transformers reads it (<c>_compute_yarn_parameters</c> in modeling_rope_utils.py; gpt-oss,
/// Qwen2.5's long-context configs): with d the rotated dimensions and L the original context, pair i's inverse
/// frequency is base^(-2i/d) where it turns more than beta_fast times within L, base^(-2i/d) / factor where it turns
/// fewer than beta_slow times, and a linear blend between (the ramp's ends floor and ceil'd when truncate is true, its
/// default); cos and sin are multiplied by the attention factor (given, or 0.1·ln(factor) + 1, or DeepSeek's ratio
/// of that with mscale and mscale_all_dim).
/// </summary>
internal static class Yarn
{
    /// <summary>The yarn settings of a rope_scaling / rope_parameters object; errors name the file and the key.</summary>
    public static RopeConfig Read(JsonField s, double theta)
    {
        double factor = s.OptionalDouble("factor") ?? throw s.Missing("factor", "a number (required by rope type yarn)");
        if (!(factor > 0) || double.IsInfinity(factor)) throw s.Invalid("factor", $"is {factor}; expected a positive number");
        int original = s.OptionalInt("original_max_position_embeddings") ?? throw s.Missing("original_max_position_embeddings", "an integer (required by rope type yarn)");
        if (original <= 0) throw s.Invalid("original_max_position_embeddings", $"is {original}; expected a positive integer");
        // transformers: `get("beta_fast") or 32`, so 0 and null both mean the default
        double betaFast = s.OptionalDouble("beta_fast") is double f && f != 0 ? f : 32.0;
        double betaSlow = s.OptionalDouble("beta_slow") is double b && b != 0 ? b : 1.0;
        if (!(betaFast > 0) || !(betaSlow > 0)) throw s.Invalid("beta_fast", $"is {betaFast} with beta_slow {betaSlow}; expected positive rotation counts");
        double? mscale = s.OptionalDouble("mscale"), mscaleAllDim = s.OptionalDouble("mscale_all_dim");
        double attention = s.OptionalDouble("attention_factor")
            ?? (mscale is double m && m != 0 && mscaleAllDim is double a && a != 0 ? Scale(factor, m) / Scale(factor, a) : Scale(factor, 1.0));
        if (!(attention > 0) || double.IsInfinity(attention)) throw s.Invalid("attention_factor", $"is {attention}; expected a positive number");
        return new RopeConfig(theta, "yarn", factor, OriginalMaxPositionEmbeddings: original)
        {
            BetaFast = betaFast,
            BetaSlow = betaSlow,
            Truncate = s.OptionalBool("truncate") ?? true,
            AttentionFactor = attention,
        };
    }

    /// <summary>YaRN's get_mscale: 0.1·m·ln(scale) + 1, or 1 for a scale up to 1.</summary>
    static double Scale(double scale, double m) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;

    /// <summary>
    /// The inverse frequencies [d/2] (fp32 as transformers computes them) of <paramref name="rope"/> over
    /// <paramref name="rotaryDim"/> dimensions.
    /// </summary>
    public static float[] InverseFrequencies(RopeConfig rope, int rotaryDim)
    {
        double CorrectionDim(double rotations) =>
            rotaryDim * Math.Log(rope.OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(rope.Theta));
        double low = CorrectionDim(rope.BetaFast), high = CorrectionDim(rope.BetaSlow);
        if (rope.Truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        low = Math.Max(low, 0);
        high = Math.Min(high, rotaryDim - 1);
        float lowF = (float)low, highF = (float)high;
        if (lowF == highF) highF += 0.001f;
        var result = new float[rotaryDim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            float basePower = MathF.Pow((float)rope.Theta, (float)(2 * i) / rotaryDim);
            float extrapolation = 1.0f / basePower;
            float interpolation = 1.0f / ((float)rope.Factor * basePower);
            float ramp = Math.Clamp((i - lowF) / (highF - lowF), 0f, 1f);
            float keep = 1f - ramp; // inv_freq_extrapolation_factor
            result[i] = interpolation * (1f - keep) + extrapolation * keep;
        }
        return result;
    }
}
