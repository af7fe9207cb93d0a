using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Integer;

/// <summary>
/// The docs/design.md §4 formulas on float32 [groups, n] tensors, vectorised over groups. Shared by
/// the quantizer, the dequantizer and the calibrators that try candidate ranges, so all of them
/// compute exactly the same numbers. Each step is one IEEE float32 operation in the order of the
/// formulas (no fused multiply-add), so a plain scalar loop reproduces the results bit for bit.
/// Rounding is torch.round: round half to even.
/// </summary>
internal static class IntegerMath
{
    /// <summary>
    /// Absmax scales s = (2^(b-1) − 1)/α per group. A group with α = 0 (all zeros), or so small that
    /// s overflows, gets s = 1: its codes are 0 and it dequantizes to zeros, never NaN.
    /// </summary>
    public static Tensor AbsmaxScale(Tensor alpha, int bits)
    {
        using var scope = NewDisposeScope();
        var s = alpha.FullLike((1 << (bits - 1)) - 1).div_(alpha);
        return where(s.isfinite(), s, ones_like(s)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Zero-point constants for the range [lo, hi] per group: s = (2^b − 1)/(hi − lo) and
    /// z = round(−s·lo) − 2^(b-1), both float32 (z holds an integer). A constant group (hi = lo) is
    /// widened to include 0, so a constant c ≠ 0 maps to an end code and comes back as c; an
    /// all-zero group gets s = 1 and dequantizes to exact zeros.
    /// </summary>
    public static (Tensor Scale, Tensor Zero) ZeroPointConstants(Tensor lo, Tensor hi, int bits)
    {
        using var scope = NewDisposeScope();
        var degenerate = hi.eq(lo);
        lo = where(degenerate, lo.ClampedMax(0), lo);
        hi = where(degenerate, hi.ClampedMin(0), hi);
        var s = lo.FullLike((1 << bits) - 1).div_(hi.sub(lo));
        s = where(s.isfinite(), s, ones_like(s));
        var z = s.mul(lo).neg_().round_().MinusInPlace(1 << (bits - 1));
        return (s.MoveToOuterDisposeScope(), z.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Signed codes as float32: absmax q = clamp(round(s·x), −(2^(b-1) − 1), 2^(b-1) − 1); zero point
    /// q = clamp(round(s·x + z), −2^(b-1), 2^(b-1) − 1). <paramref name="scale"/> and
    /// <paramref name="zero"/> are [groups], <paramref name="x"/> is [groups, n].
    /// </summary>
    public static Tensor Codes(Tensor x, Tensor scale, Tensor? zero, int bits)
    {
        using var scope = NewDisposeScope();
        int half = 1 << (bits - 1);
        var q = x.mul(scale.unsqueeze(1));
        q = zero is null
            ? q.round_().ClampedInPlace(-(half - 1), half - 1)
            : q.PlusInPlace(zero.unsqueeze(1)).round_().ClampedInPlace(-half, half - 1);
        return q.MoveToOuterDisposeScope();
    }

    /// <summary>Real values from signed codes: q/s (absmax) or (q − z)/s (zero point), per group row.</summary>
    public static Tensor Dequantize(Tensor q, Tensor scale, Tensor? zero)
    {
        using var scope = NewDisposeScope();
        var d = zero is null ? q.div(scale.unsqueeze(1)) : q.sub(zero.unsqueeze(1)).div_(scale.unsqueeze(1));
        return d.MoveToOuterDisposeScope();
    }

    /// <summary>dequant(quant(x)) for the range [lo, hi] per group (absmax: α = hi), as the quantizer computes it.</summary>
    public static Tensor FakeQuantize(Tensor x, Tensor lo, Tensor hi, int bits, IntegerMode mode)
    {
        using var scope = NewDisposeScope();
        Tensor scale;
        Tensor? zero = null;
        if (mode == IntegerMode.Absmax) scale = AbsmaxScale(hi, bits);
        else (scale, zero) = ZeroPointConstants(lo, hi, bits);
        return Dequantize(Codes(x, scale, zero, bits), scale, zero).MoveToOuterDisposeScope();
    }
}
