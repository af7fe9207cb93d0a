using QuantTune.Quantization.Integer;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// The quantization grid of one group of columns, per output row, as gptq.py's <c>Quantizer</c>
/// (AutoGPTQ, GPTQModel) finds it with maxq = 2^b − 1, written as the multiplier s = 1/scale that
/// the rest of the library uses (w ≈ (q − z)/s, signed codes q):
/// <list type="bullet">
/// <item>Symmetric (gptq.py's <c>sym=True</c>): scale = 2·max|w|/maxq with the unsigned zero (maxq + 1)/2 = 2^(b-1), that is
/// s = maxq/(2·max|w|), signed zero 0 and all 2^b codes −2^(b-1) … 2^(b-1) − 1 (not the integer
/// quantizer's absmax grid ±(2^(b-1) − 1)); an all-zero group gets scale 2/maxq, as gptq.py's.</item>
/// <item>Zero point: the range [min(w, 0), max(w, 0)], s = maxq/(hi − lo), z = round(−s·lo) − 2^(b-1): the
/// integer quantizer's formulas (<see cref="IntegerMath"/>) on gptq.py's range, which for a group
/// that spans 0 (virtually every weight group) is exactly the range <see cref="IntegerQuantizer"/> uses.</item>
/// </list>
/// Round-to-nearest on the same grid is the baseline GPTQ improves on.
/// </summary>
internal static class GptqGrid
{
    /// <summary>Scale s [rows] and zero point z [rows] (null for absmax) of the columns <paramref name="w"/> [rows, n].</summary>
    public static (Tensor Scale, Tensor? Zero) Find(Tensor w, int bits, IntegerMode mode)
    {
        using var scope = NewDisposeScope();
        if (mode == IntegerMode.Absmax)
            return (SymmetricScale(w.abs().amax(new long[] { 1 }), bits).MoveToOuterDisposeScope(), null);
        var lo = w.amin(new long[] { 1 }).ClampedMax(0);
        var hi = w.amax(new long[] { 1 }).ClampedMin(0);
        var (s, z) = IntegerMath.ZeroPointConstants(lo, hi, bits);
        return (s.MoveToOuterDisposeScope(), z.MoveToOuterDisposeScope());
    }

    /// <summary>s = maxq/(2·α) for the largest magnitude α per row; 1/s = 2α/maxq is gptq.py's scale, 2/maxq where α = 0.</summary>
    static Tensor SymmetricScale(Tensor alpha, int bits)
    {
        using var scope = NewDisposeScope();
        double maxq = (1 << bits) - 1;
        var s = alpha.FullLike(maxq).div_(alpha.Times(2.0));
        return where(s.isfinite(), s, alpha.FullLike(maxq / 2)).MoveToOuterDisposeScope();
    }

    /// <summary>Signed codes clamp(round(s·w + z), −2^(b-1), 2^(b-1) − 1) for both modes (z = 0 when symmetric), round half to even.</summary>
    public static Tensor Codes(Tensor w, Tensor scale, Tensor? zero, int bits)
    {
        using var scope = NewDisposeScope();
        int half = 1 << (bits - 1);
        var q = w.mul(scale.unsqueeze(1));
        if (zero is not null) q = q.PlusInPlace(zero.unsqueeze(1));
        return q.round_().ClampedInPlace(-half, half - 1).MoveToOuterDisposeScope();
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
            codes.narrow(1, k * g, width).copy_(Codes(part, s, z, settings.Bits));
            scales.select(1, k).copy_(s);
            zeros?.select(1, k).copy_(z!);
        }
        var groupIndex = PinnedScalarMath.Arange(columns, ScalarType.Int64).DividedByInPlace(g, RoundingMode.floor).to_type(ScalarType.Int32);
        return GptqResult.Create(codes, scales, zeros, groupIndex, settings).MoveToOuterDisposeScope();
    }
}
