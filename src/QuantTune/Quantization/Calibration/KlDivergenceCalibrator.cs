using QuantTune.Diagnostics;
using QuantTune.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Calibration;

/// <summary>
/// TensorRT's entropy calibration: the threshold α whose quantized histogram of |x| is closest,
/// in KL divergence, to the original. A histogram of |x| with <see cref="Bins"/> bins over
/// [0, max|x|]; for each candidate i from 2^(b-1) to <see cref="Bins"/> bins, the reference P is
/// hist[0:i] with the outlier mass hist[i:] added to bin i−1; the candidate Q is hist[0:i] (as in
/// TensorRT and MXNet: without the outlier mass, which is what penalises clipping) merged into
/// 2^(b-1) levels and spread evenly back over the bins where P is non-zero (zero where P is zero).
/// Both are smoothed (a small mass moved onto their zero bins) and α = (i + 0.5)·bin width for the
/// i of least KL(P‖Q).
/// <para>Per tensor only: one histogram over all groups gives α, and each group is clipped at the
/// same fraction r = α / max|x| of its own max|x| (symmetric: α_g = r·A_g; asymmetric:
/// [max(min_g, −r·A_g), min(max_g, r·A_g)]). A histogram search per group would cost about
/// 2·10^6 operations per group, far too slow for per-channel or per-block weights.</para>
/// </summary>
public sealed class KlDivergenceCalibrator : IClipCalibrator
{
    /// <summary>Uses a histogram of <paramref name="bins"/> bins (default 2048, TensorRT's).</summary>
    public KlDivergenceCalibrator(int bins = 2048)
    {
        if (bins < 2)
            throw new InvalidSettingException("KlDivergenceCalibrator.Bins", bins, "expected at least 2 histogram bins");
        Bins = bins;
    }

    /// <summary>Histogram bins over [0, max|x|].</summary>
    public int Bins { get; }

    /// <inheritdoc/>
    public string Name => "kl";

    /// <inheritdoc/>
    public ClipRange Choose(Tensor values, int bits, bool symmetric)
    {
        using var scope = NewDisposeScope();
        var x = values.to_type(ScalarType.Float32);
        var absolute = x.abs();
        var absMax = absolute.amax(new long[] { 1 });
        double top = absolute.max().item<float>(); // as ToDouble() reads it, without its short-lived Scalar
        double ratio = 1;
        if (top > 0 && double.IsFinite(top))
        {
            // Bin k holds |x| in [k·w, (k+1)·w) with w = max|x| / Bins; max|x| itself goes in the last bin.
            var index = absolute.flatten().Times(Bins / top).floor_().ClampedInPlace(0, Bins - 1).to_type(ScalarType.Int64);
            var histogram = index.bincount(null, Bins).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            int levels = 1 << (bits - 1);
            int kept = BestBinCount(histogram, levels);
            ratio = Math.Min(1.0, (kept + 0.5) / Bins); // α / max|x| with α = (i + 0.5)·(max|x| / Bins)
        }
        var alpha = absMax.Times(ratio);
        if (symmetric) return ClipRange.Symmetric(alpha).MoveToOuterDisposeScope();
        var lo = maximum(x.amin(new long[] { 1 }), alpha.neg());
        var hi = maximum(minimum(x.amax(new long[] { 1 }), alpha), lo);
        return new ClipRange(lo, hi).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The number of bins i (from <paramref name="levels"/> to the histogram's length) whose
    /// threshold minimises KL(P‖Q) as described on the class; the threshold is (i + 0.5)·bin width.
    /// Usable with a histogram accumulated over many batches (e.g. activations).
    /// </summary>
    public static int BestBinCount(IReadOnlyList<double> histogram, int levels)
    {
        int bins = histogram.Count;
        if (levels < 1 || levels > bins)
            throw new QuantTuneException($"KL calibration: {levels} quantization levels do not fit a histogram of {bins} bins; expected 1..{bins} levels");
        var suffix = new double[bins + 1];
        for (int k = bins - 1; k >= 0; k--) suffix[k] = suffix[k + 1] + histogram[k];

        var p = new double[bins];
        var q = new double[bins];
        int best = bins;
        double bestDivergence = double.PositiveInfinity;
        for (int i = levels; i <= bins; i++)
        {
            for (int k = 0; k < i; k++) p[k] = histogram[k];
            p[i - 1] += suffix[i];

            int merged = i / levels;
            Array.Clear(q, 0, i);
            for (int j = 0; j < levels; j++)
            {
                int start = j * merged, stop = j == levels - 1 ? i : start + merged;
                double total = 0;
                int nonZero = 0;
                for (int k = start; k < stop; k++)
                {
                    total += histogram[k];
                    if (p[k] != 0) nonZero++;
                }
                if (nonZero == 0) continue;
                double share = total / nonZero;
                for (int k = start; k < stop; k++) q[k] = p[k] != 0 ? share : 0;
            }
            double divergence = Divergence(p.AsSpan(0, i), q.AsSpan(0, i));
            if (divergence < bestDivergence)
            {
                bestDivergence = divergence;
                best = i;
            }
        }
        return best;
    }

    /// <summary>KL(P‖Q) of two count vectors after normalising and smoothing both; +∞ when either is empty.</summary>
    static double Divergence(Span<double> p, Span<double> q)
    {
        if (!Smooth(p) || !Smooth(q)) return double.PositiveInfinity;
        double divergence = 0;
        for (int k = 0; k < p.Length; k++) divergence += p[k] * Math.Log(p[k] / q[k]);
        return divergence;
    }

    /// <summary>
    /// Normalises to a distribution and moves ε onto each zero bin, taken evenly from the non-zero
    /// bins (MXNet's _smooth_distribution, ε = 1e-4 of the total, or less where a non-zero bin is
    /// smaller than its share), so no probability is zero and the total stays 1.
    /// </summary>
    static bool Smooth(Span<double> d)
    {
        double total = 0, smallest = double.PositiveInfinity;
        int zeros = 0;
        foreach (var v in d)
        {
            total += v;
            if (v == 0) zeros++;
            else smallest = Math.Min(smallest, v);
        }
        if (total <= 0) return false;
        int nonZeros = d.Length - zeros;
        double epsilon = 1e-4;
        if (zeros > 0) epsilon = Math.Min(epsilon, 0.5 * smallest / total * nonZeros / zeros);
        double taken = zeros == 0 ? 0 : epsilon * zeros / nonZeros;
        for (int k = 0; k < d.Length; k++) d[k] = d[k] == 0 ? epsilon : d[k] / total - taken;
        return true;
    }
}
