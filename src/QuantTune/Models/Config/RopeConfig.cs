namespace QuantTune.Models.Config;

/// <summary>
/// Rotary position embedding settings: the base <see cref="Theta"/> and an optional scaling
/// (<c>linear</c>: positions divided by the factor; <c>llama3</c>: frequency-dependent
/// rescaling of the inverse frequencies, as in Llama 3.1; <c>longrope</c>: Phi-3's per-frequency
/// divisors, short ones for sequences up to <see cref="OriginalMaxPositionEmbeddings"/> and long
/// ones beyond, and cos/sin scaled by <see cref="AttentionFactor"/>; <c>proportional</c>: Gemma 4's global
/// layers, the first <see cref="RotatedFraction"/> of the head's frequency pairs at base^(-2i/head_dim) and the rest
/// at frequency 0, divided by the factor; <c>yarn</c>: YaRN, the inverse frequencies blended between the original
/// and the factor-divided ones by a linear ramp over the pairs between the <see cref="BetaFast"/> and
/// <see cref="BetaSlow"/> rotation counts within <see cref="OriginalMaxPositionEmbeddings"/>, and cos/sin scaled by
/// <see cref="AttentionFactor"/>; see <see cref="Yarn"/>).
/// </summary>
public sealed record RopeConfig(
    double Theta,
    string Type = "default",
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    public static readonly string[] SupportedTypes = ["default", "linear", "llama3", "longrope", "yarn"];

    /// <summary>LongRoPE: the divisor of each inverse frequency while the sequence fits the original context.</summary>
    public IReadOnlyList<double>? ShortFactor { get; init; }
    /// <summary>LongRoPE: the divisor of each inverse frequency once the sequence passes the original context.</summary>
    public IReadOnlyList<double>? LongFactor { get; init; }
    /// <summary>Proportional RoPE: the share of the head's frequency pairs that rotate (partial_rotary_factor); 1 otherwise.</summary>
    public double RotatedFraction { get; init; } = 1.0;

    /// <summary>YaRN: the rotations per original context (beta_fast) below which a pair is fully interpolated.</summary>
    public double BetaFast { get; init; } = 32.0;
    /// <summary>YaRN: the rotations per original context (beta_slow) above which a pair keeps its original frequency.</summary>
    public double BetaSlow { get; init; } = 1.0;
    /// <summary>YaRN: the ramp's ends rounded out to whole pairs (floor, ceil), as transformers does unless truncate is false.</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>cos and sin are multiplied by this (YaRN's 0.1·ln(factor) + 1, LongRoPE's √(1 + ln s / ln original), 1 otherwise).</summary>
    public double AttentionFactor { get; init; } = 1.0;

    /// <summary>Whether a longrope config has been completed by its family (original context, factors checked, attention factor).</summary>
    internal bool IsResolvedLongRope => Type == "longrope" && OriginalMaxPositionEmbeddings > 0 && !double.IsNaN(AttentionFactor);

    /// <summary>Whether a forward pass whose last position is <paramref name="end"/> − 1 uses <see cref="LongFactor"/>.</summary>
    public bool UsesLongFactors(long end) => Type == "longrope" && end > OriginalMaxPositionEmbeddings;
}
