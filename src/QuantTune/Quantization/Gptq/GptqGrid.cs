using QuantTune.Quantization.Integer;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// The quantization grid of one group of columns, per output row: the integer quantizer's own
/// formulas (<see cref="IntegerMath"/>), so that GPTQ and round-to-nearest share one grid and RTN is
/// the exact baseline. Absmax: s = (2^(b-1) − 1)/max|w|. Zero point: the range [min(w, 0), max(w, 0)]
/// as gptq.py's quantizer takes it (so the integer zero point lies in the code range, as the GPTQ
/// checkpoint layout needs); for a group that spans 0, which weights virtually always do, this is
/// exactly the range <see cref="IntegerQuantizer"/> uses.
/// </summary>
internal static class GptqGrid
{
    /// <summary>Scale s [rows] and zero point z [rows] (null for absmax) of the columns <paramref name="w"/> [rows, n].</summary>
    public static (Tensor Scale, Tensor? Zero) Find(Tensor w, int bits, IntegerMode mode)
    {
        using var scope = NewDisposeScope();
        if (mode == IntegerMode.Absmax)
            return (IntegerMath.AbsmaxScale(w.abs().amax(new long[] { 1 }), bits).MoveToOuterDisposeScope(), null);
        var lo = w.amin(new long[] { 1 }).ClampedMax(0);
        var hi = w.amax(new long[] { 1 }).ClampedMin(0);
        var (s, z) = IntegerMath.ZeroPointConstants(lo, hi, bits);
        return (s.MoveToOuterDisposeScope(), z.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Round-to-nearest on the same grid and groups (natural column order, no error feedback):
    /// the baseline GPTQ improves on.
    /// </summary>
    public static GptqResult RoundToNearest(Tensor weight, GptqSettings settings)
    {
        using var scope = NewDisposeScope();
        // On the CPU, as GptqSolver leaves its result, so that both compare and pack alike.
        var w = weight.detach().to(weight.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32, CPU);
        long rows = w.shape[0], columns = w.shape[1];
        long g = settings.GroupColumns(columns), groups = (columns + g - 1) / g;
        var codes = empty_like(w);
        var scales = empty(rows, groups, w.dtype);
        var zeros = settings.Mode == IntegerMode.ZeroPoint ? empty(rows, groups, w.dtype) : null;
        for (long k = 0; k < groups; k++)
        {
            long width = Math.Min(g, columns - k * g);
            var part = w.narrow(1, k * g, width);
            var (s, z) = Find(part, settings.Bits, settings.Mode);
            codes.narrow(1, k * g, width).copy_(IntegerMath.Codes(part, s, z, settings.Bits));
            scales.select(1, k).copy_(s);
            zeros?.select(1, k).copy_(z!);
        }
        var groupIndex = PinnedScalarMath.Arange(columns, ScalarType.Int64).DividedByInPlace(g, RoundingMode.floor).to_type(ScalarType.Int32);
        return GptqResult.Create(codes, scales, zeros, groupIndex, settings).MoveToOuterDisposeScope();
    }
}
