using QuantTune.Diagnostics;
using QuantTune.Quantization.Integer;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Calibration;

/// <summary>
/// Chooses, per group, the clip that minimises the mean squared error between x and
/// dequant(quant(x)): candidates are ratios r = 1, …, <see cref="MinRatio"/> (evenly spaced,
/// <see cref="Candidates"/> of them; default 1.00, 0.99, …, 0.30) of A = max|x| of the group.
/// Symmetric: α = r·A. Asymmetric: [max(min, −r·A), min(max, r·A)], quantized with a zero point.
/// The error is computed with exactly the quantizer's arithmetic, for all groups at once (one pass
/// over the values per candidate). Ties keep the larger ratio.
/// </summary>
public sealed class MseCalibrator : IClipCalibrator
{
    /// <summary>Tries <paramref name="candidates"/> ratios from 1 down to <paramref name="minRatio"/>.</summary>
    public MseCalibrator(int candidates = 71, double minRatio = 0.30)
    {
        if (candidates < 1)
            throw new InvalidSettingException("MseCalibrator.Candidates", candidates, "expected at least 1 candidate ratio");
        if (!(minRatio > 0 && minRatio <= 1))
            throw new InvalidSettingException("MseCalibrator.MinRatio", minRatio, "expected a ratio in (0, 1]");
        Candidates = candidates;
        MinRatio = minRatio;
    }

    /// <summary>Number of candidate ratios.</summary>
    public int Candidates { get; }

    /// <summary>The smallest ratio tried.</summary>
    public double MinRatio { get; }

    /// <inheritdoc/>
    public string Name => "mse";

    /// <summary>The candidate ratios, largest first.</summary>
    public IReadOnlyList<double> Ratios =>
        Enumerable.Range(0, Candidates).Select(k => Candidates == 1 ? 1.0 : 1.0 - k * (1.0 - MinRatio) / (Candidates - 1)).ToArray();

    /// <inheritdoc/>
    public ClipRange Choose(Tensor values, int bits, bool symmetric)
    {
        using var scope = NewDisposeScope();
        var x = values.to_type(ScalarType.Float32);
        var absMax = x.abs().amax(new long[] { 1 });
        var min = x.amin(new long[] { 1 });
        var max = x.amax(new long[] { 1 });
        var mode = symmetric ? IntegerMode.Absmax : IntegerMode.ZeroPoint;
        var bestError = absMax.FullLike(double.PositiveInfinity);
        var bestRatio = ones_like(absMax);
        foreach (var ratio in Ratios)
        {
            using var step = NewDisposeScope();
            var (lo, hi) = Range(absMax.Times(ratio), min, max, symmetric);
            var error = IntegerMath.FakeQuantize(x, lo, hi, bits, mode).sub_(x).PowerInPlace(2).mean(new long[] { 1 });
            var better = error.lt(bestError);
            bestError.copy_(where(better, error, bestError));
            bestRatio.copy_(where(better, bestRatio.FullLike(ratio), bestRatio));
        }
        var (low, high) = Range(absMax.mul(bestRatio), min, max, symmetric);
        return new ClipRange(low, high).MoveToOuterDisposeScope();
    }

    static (Tensor Low, Tensor High) Range(Tensor alpha, Tensor min, Tensor max, bool symmetric)
    {
        if (symmetric) return (alpha.neg(), alpha);
        var lo = maximum(min, alpha.neg());
        return (lo, maximum(minimum(max, alpha), lo));
    }
}
