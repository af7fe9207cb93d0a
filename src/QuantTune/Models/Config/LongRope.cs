using QuantTune.IO;

namespace QuantTune.Models.Config;

/// <summary>
/// LongRoPE (Phi-3 128K, Phi-4-mini) as transformers reads it (<c>_compute_longrope_parameters</c>): a
/// short and a long list of divisors for the inverse frequencies, one per rotated pair, and an
/// attention factor on cos and sin. The rope_scaling object gives the lists; the family completes them
/// with the config's original context (<see cref="Resolve"/>).
/// </summary>
internal static class LongRope
{
    /// <summary>The factor lists of a longrope rope_scaling / rope_parameters object; the original context and the attention factor are left for <see cref="Resolve"/>.</summary>
    public static RopeConfig Read(JsonField s, double theta) =>
        new(theta, "longrope", s.OptionalDouble("factor") ?? 1.0, OriginalMaxPositionEmbeddings: 0)
        {
            ShortFactor = Factors(s, "short_factor"),
            LongFactor = Factors(s, "long_factor"),
            AttentionFactor = s.OptionalDouble("attention_factor") ?? double.NaN,
        };

    static double[] Factors(JsonField s, string name)
    {
        var list = s.Required(name, "an array of numbers (required by rope type longrope)");
        var values = list.Items().Select(i => i.GetDouble()).ToArray();
        if (values.Any(v => !(v > 0) || double.IsInfinity(v))) throw list.Invalid("expected positive finite numbers");
        return values;
    }

    /// <summary>
    /// The original context a config gives (inside the RoPE settings, as transformers 5 may keep it, or at the top
    /// level), else <paramref name="defaultOriginal"/> (Phi3Config's default); checked positive.
    /// </summary>
    public static int OriginalContext(JsonField f, int defaultOriginal)
    {
        int original = ModelConfig.RopeScaling(f)?.OptionalInt("original_max_position_embeddings") ?? f.OptionalInt("original_max_position_embeddings") ?? defaultOriginal;
        if (original <= 0) throw f.Invalid("original_max_position_embeddings", $"is {original}; expected a positive integer");
        return original;
    }

    /// <summary>
    /// Completes <paramref name="rope"/> as transformers does for a config that has an original context
    /// (<paramref name="original"/>, from <see cref="OriginalContext"/>): the scale is max_position_embeddings / original,
    /// the attention factor the one given or √(1 + ln scale / ln original) (1 when the scale is at most 1), and each
    /// list must have one entry per rotated pair (<paramref name="rotaryDim"/> / 2).
    /// </summary>
    public static RopeConfig Resolve(JsonField f, RopeConfig rope, int maxPositions, int rotaryDim, int original)
    {
        var scaling = ModelConfig.RopeScaling(f) ?? throw f.Missing("rope_scaling", "the longrope settings");
        foreach (var (name, list) in new[] { ("short_factor", rope.ShortFactor!), ("long_factor", rope.LongFactor!) })
            if (list.Count != rotaryDim / 2)
                throw scaling.Invalid(name, $"has {list.Count} entries; expected {rotaryDim / 2}, one per rotated pair (head_dim × partial_rotary_factor / 2)");
        double scale = (double)maxPositions / original;
        double attention = double.IsNaN(rope.AttentionFactor)
            ? scale <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(scale) / Math.Log(original))
            : rope.AttentionFactor;
        return rope with { OriginalMaxPositionEmbeddings = original, Factor = scale, AttentionFactor = attention };
    }
}
