using static TorchSharp.torch;

namespace QuantTune.Quantization.Calibration;

/// <summary>
/// Chooses a clip range per group for uniform integer quantization: giving up the rare extreme
/// values buys a finer step for all the others. Usable alone (e.g. for static activation scales)
/// as well as through <see cref="Integer.IntegerScheme.Clipping"/>.
/// </summary>
public interface IClipCalibrator
{
    /// <summary>Short name used in scheme names and metadata, e.g. "mse" in "int4-absmax-block64-clip-mse".</summary>
    string Name { get; }

    /// <summary>
    /// The clip range for each row of <paramref name="values"/> ([groups, n], any float dtype; one
    /// row per group) when quantized to <paramref name="bits"/> bits, symmetric ([−α, α], α ≤ max|x|)
    /// or asymmetric ([lo, hi] within [min, max]). The result is float32 of shape [groups] on the
    /// device of <paramref name="values"/>.
    /// </summary>
    ClipRange Choose(Tensor values, int bits, bool symmetric);
}
