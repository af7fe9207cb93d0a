namespace QuantTune.Models.Config;

/// <summary>
/// Rotary position embedding settings: the base <see cref="Theta"/> and an optional scaling
/// (<c>linear</c>: positions divided by the factor; <c>llama3</c>: frequency-dependent
/// rescaling of the inverse frequencies, as in Llama 3.1).
/// </summary>
public sealed record RopeConfig(
    double Theta,
    string Type = "default",
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    public static readonly string[] SupportedTypes = ["default", "linear", "llama3"];
}
