using QuantTune.IO;

namespace QuantTune.Models.Config;

/// <summary>
/// partial_rotary_factor, the share of each head RoPE rotates (Phi-4-mini 0.75, StableLM-2 and Qwen3.5 0.25), read
/// where transformers keeps it: inside rope_parameters (transformers 5) or at the top level (older files).
/// </summary>
internal static class PartialRotary
{
    /// <summary>
    /// The factor, or <paramref name="fallback"/> where config.json gives none; refused by its key unless it is a
    /// fraction in (0, 1] that leaves a positive even number of rotated dimensions in a head of <paramref name="headDim"/>.
    /// </summary>
    public static double Read(JsonField f, int headDim, double fallback)
    {
        var parameters = f.Object("rope_parameters");
        string key = parameters?.Has("partial_rotary_factor") == true ? "rope_parameters.partial_rotary_factor" : "partial_rotary_factor";
        double partial = parameters?.OptionalDouble("partial_rotary_factor") ?? f.OptionalDouble("partial_rotary_factor") ?? fallback;
        if (!(partial > 0 && partial <= 1))
            throw f.Invalid(key, $"is {partial}; expected a fraction in (0, 1]");
        int rotary = (int)(headDim * partial);
        if (rotary <= 0 || rotary % 2 != 0)
            throw f.Invalid(key, $"is {partial}: head_dim {headDim} × {partial} gives {rotary} rotated dimensions; expected a positive even number");
        return partial;
    }
}
