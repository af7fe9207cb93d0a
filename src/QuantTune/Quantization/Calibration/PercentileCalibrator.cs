using System.Globalization;
using QuantTune.Diagnostics;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Calibration;

/// <summary>
/// Clips at a percentile: symmetric α = the p-th percentile of |x| per group; asymmetric
/// [lo, hi] = the (100 − p)-th and p-th percentiles of x. Percentiles interpolate linearly between
/// order statistics (numpy's and torch.quantile's default), computed by sorting each group, so
/// there is no size limit. The number of bits does not matter.
/// </summary>
public sealed class PercentileCalibrator : IClipCalibrator
{
    /// <summary>Clips at the <paramref name="percentile"/>-th percentile (50 &lt; p ≤ 100; default 99.99).</summary>
    public PercentileCalibrator(double percentile = 99.99)
    {
        if (!(percentile > 50 && percentile <= 100))
            throw new InvalidSettingException("PercentileCalibrator.Percentile", percentile, "not a usable percentile; expected a value in (50, 100]");
        Percentile = percentile;
    }

    /// <summary>The percentile p.</summary>
    public double Percentile { get; }

    /// <inheritdoc/>
    public string Name => "percentile" + Percentile.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public ClipRange Choose(Tensor values, int bits, bool symmetric)
    {
        using var scope = NewDisposeScope();
        var x = values.to_type(ScalarType.Float32);
        if (symmetric)
            return ClipRange.Symmetric(Quantile(x.abs(), Percentile / 100)).MoveToOuterDisposeScope();
        return new ClipRange(Quantile(x, 1 - Percentile / 100), Quantile(x, Percentile / 100)).MoveToOuterDisposeScope();
    }

    /// <summary>The <paramref name="q"/>-quantile (0..1) of each row of <paramref name="x"/> [groups, n], linearly interpolated.</summary>
    internal static Tensor Quantile(Tensor x, double q)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[1];
        double position = q * (n - 1);
        long below = Math.Clamp((long)Math.Floor(position), 0, n - 1);
        long above = Math.Min(below + 1, n - 1);
        double fraction = position - below;
        var sorted = x.sort(1).Values;
        var low = sorted.select(1, below);
        var result = fraction == 0 ? low.clone() : low.Plus(sorted.select(1, above).sub(low).TimesInPlace(fraction));
        return result.MoveToOuterDisposeScope();
    }
}
