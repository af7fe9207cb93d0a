namespace QuantTune.Models.Config;

/// <summary>
/// gpt-oss's expert activation (GptOssExperts): the gate clamped to at most <see cref="Limit"/>, the up projection to
/// [−<see cref="Limit"/>, <see cref="Limit"/>], then (up + 1) · gate · sigmoid(<see cref="Alpha"/> · gate).
/// </summary>
/// <param name="Alpha">swiglu_alpha, the sigmoid's gain (1.702)</param>
/// <param name="Limit">swiglu_limit, the clamp (7.0)</param>
public sealed record ClampedSwiGlu(double Alpha, double Limit);
