using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Runtime;

/// <summary>
/// Tensor arithmetic whose TorchSharp <see cref="Scalar"/>s stay alive until libtorch has
/// finished with them.
/// <para>
/// TorchSharp turns every number given to an operation into a <see cref="Scalar"/> with a
/// finalizer, and <c>a + b</c> between tensors passes a hidden alpha of 1 made the same way. The
/// Scalar becomes unreachable as soon as its native handle is read, so a garbage collection that
/// another thread starts during the native call (a progress display, a timer, the caller's own
/// threads) lets the finalizer thread free the <c>c10::Scalar</c> while libtorch reads it:
/// "Expected false to be true" from <c>c10::Scalar::toFloat</c>, or worse. Every method here
/// either uses a Scalar held in a static field or disposes the one it makes after the call.
/// The operations are the ones TorchSharp's operators run, so results are bit-identical.
/// </para>
/// </summary>
public static class PinnedScalarMath
{
    static readonly Scalar One = 1.ToScalar();

    /// <summary>a + b (TorchSharp's <c>operator +</c>).</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + alpha·b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add(b, s);
    }

    /// <summary>a + s.</summary>
    public static Tensor Plus(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.add(value, One);
    }

    /// <summary>a + s for an integer s (an integer tensor stays integer).</summary>
    public static Tensor Plus(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.add(value, One);
    }

    /// <summary>a − s for an integer s.</summary>
    public static Tensor Minus(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.sub(value);
    }

    /// <summary>s − a for an integer s.</summary>
    public static Tensor SubtractedFrom(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        using var negated = a.negative();
        return negated.add(value, One);
    }

    /// <summary>a · s for an integer s.</summary>
    public static Tensor Times(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.mul(value);
    }

    /// <summary>a += b, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary>a += alpha·b, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add_(b, s);
    }

    /// <summary>a += s, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.add_(value, One);
    }

    /// <summary>a += s, in place, for an integer s.</summary>
    public static Tensor PlusInPlace(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.add_(value, One);
    }

    /// <summary>a −= s, in place, for an integer s.</summary>
    public static Tensor MinusInPlace(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.sub_(value);
    }

    /// <summary>a += value·t1·t2, in place (addcmul_).</summary>
    public static Tensor PlusProductInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using var v = value.ToScalar();
        return a.addcmul_(t1, t2, v);
    }

    /// <summary>a += value·t1/t2, in place (addcdiv_).</summary>
    public static Tensor PlusQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double value)
    {
        using var v = value.ToScalar();
        return a.addcdiv_(t1, t2, v);
    }

    /// <summary>a − s.</summary>
    public static Tensor Minus(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.sub(value);
    }

    /// <summary>s − a (TorchSharp's <c>operator -(double, Tensor)</c>: −a + s).</summary>
    public static Tensor SubtractedFrom(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        using var negated = a.negative();
        return negated.add(value, One);
    }

    /// <summary>a · s.</summary>
    public static Tensor Times(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.mul(value);
    }

    /// <summary>a ·= s, in place.</summary>
    public static Tensor TimesInPlace(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.mul_(value);
    }

    /// <summary>a ·= s, in place, for an integer s.</summary>
    public static Tensor TimesInPlace(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.mul_(value);
    }

    /// <summary>a / s.</summary>
    public static Tensor DividedBy(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.div(value);
    }

    /// <summary>a / s for an integer s (true division).</summary>
    public static Tensor DividedBy(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.div(value);
    }

    /// <summary>⌊a / s⌋ for an integer s (floor_divide).</summary>
    public static Tensor FloorDividedBy(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.floor_divide(value);
    }

    /// <summary>a /= s, in place.</summary>
    public static Tensor DividedByInPlace(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.div_(value);
    }

    /// <summary>a /= s, in place, for an integer s, rounded as <paramref name="roundingMode"/> says.</summary>
    public static Tensor DividedByInPlace(this Tensor a, long s, RoundingMode roundingMode)
    {
        using var value = s.ToScalar();
        return a.div_(value, roundingMode);
    }

    /// <summary>s / a (TorchSharp's <c>operator /(double, Tensor)</c>: (1/a) · s).</summary>
    public static Tensor Dividing(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        using var reciprocal = a.reciprocal();
        return reciprocal.mul(value);
    }

    /// <summary>s / a for an integer s (TorchSharp's <c>operator /(int, Tensor)</c>: (1/a) · s).</summary>
    public static Tensor Dividing(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        using var reciprocal = a.reciprocal();
        return reciprocal.mul(value);
    }

    /// <summary>a^p.</summary>
    public static Tensor Power(this Tensor a, double p)
    {
        using var value = p.ToScalar();
        return a.pow(value);
    }

    /// <summary>a^p for an integer p.</summary>
    public static Tensor Power(this Tensor a, long p)
    {
        using var value = p.ToScalar();
        return a.pow(value);
    }

    /// <summary>a = a^p, in place, for an integer p.</summary>
    public static Tensor PowerInPlace(this Tensor a, long p)
    {
        using var value = p.ToScalar();
        return a.pow_(value);
    }

    /// <summary>min(max(a, low), high).</summary>
    public static Tensor Clamped(this Tensor a, double low, double high)
    {
        using var lo = low.ToScalar();
        using var hi = high.ToScalar();
        return a.clamp(lo, hi);
    }

    /// <summary>min(max(a, low), high) for integer bounds (an integer tensor stays integer).</summary>
    public static Tensor Clamped(this Tensor a, long low, long high)
    {
        using var lo = low.ToScalar();
        using var hi = high.ToScalar();
        return a.clamp(lo, hi);
    }

    /// <summary>a = min(max(a, low), high), in place, for integer bounds.</summary>
    public static Tensor ClampedInPlace(this Tensor a, long low, long high)
    {
        using var lo = low.ToScalar();
        using var hi = high.ToScalar();
        return a.clamp_(lo, hi);
    }

    /// <summary>max(a, low).</summary>
    public static Tensor ClampedMin(this Tensor a, double low)
    {
        using var lo = low.ToScalar();
        return a.clamp_min(lo);
    }

    /// <summary>max(a, low) for an integer bound.</summary>
    public static Tensor ClampedMin(this Tensor a, long low)
    {
        using var lo = low.ToScalar();
        return a.clamp_min(lo);
    }

    /// <summary>a = max(a, low), in place, for an integer bound.</summary>
    public static Tensor ClampedMinInPlace(this Tensor a, long low)
    {
        using var lo = low.ToScalar();
        return a.clamp_min_(lo);
    }

    /// <summary>min(a, high).</summary>
    public static Tensor ClampedMax(this Tensor a, double high)
    {
        using var hi = high.ToScalar();
        return a.clamp_max(hi);
    }

    /// <summary>min(a, high) for an integer bound.</summary>
    public static Tensor ClampedMax(this Tensor a, long high)
    {
        using var hi = high.ToScalar();
        return a.clamp_max(hi);
    }

    /// <summary>a where mask is false, value where it is true.</summary>
    public static Tensor MaskedFill(this Tensor a, Tensor mask, double value)
    {
        using var v = value.ToScalar();
        return a.masked_fill(mask, v);
    }

    /// <summary>a = value where mask is true, in place, for an integer value.</summary>
    public static Tensor MaskedFillInPlace(this Tensor a, Tensor mask, long value)
    {
        using var v = value.ToScalar();
        return a.masked_fill_(mask, v);
    }

    /// <summary>a = value everywhere, in place.</summary>
    public static Tensor FillInPlace(this Tensor a, double value)
    {
        using var v = value.ToScalar();
        return a.fill_(v);
    }

    /// <summary>The mask a &gt; s.</summary>
    public static Tensor GreaterThan(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.gt(value);
    }

    /// <summary>The mask a &gt; s for an integer s.</summary>
    public static Tensor GreaterThan(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.gt(value);
    }

    /// <summary>The mask a &lt; s for an integer s.</summary>
    public static Tensor LessThan(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.lt(value);
    }

    /// <summary>The mask a ≥ s.</summary>
    public static Tensor AtLeast(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.ge(value);
    }

    /// <summary>The mask a ≥ s for an integer s.</summary>
    public static Tensor AtLeast(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.ge(value);
    }

    /// <summary>The mask a ≤ s.</summary>
    public static Tensor AtMost(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.le(value);
    }

    /// <summary>The mask a = s.</summary>
    public static Tensor EqualTo(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.eq(value);
    }

    /// <summary>The mask a = s for an integer s.</summary>
    public static Tensor EqualTo(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.eq(value);
    }

    /// <summary>The mask a ≠ s for an integer s.</summary>
    public static Tensor NotEqualTo(this Tensor a, long s)
    {
        using var value = s.ToScalar();
        return a.ne(value);
    }

    /// <summary>‖a‖₂ over all elements: <c>linalg.vector_norm(a, 2)</c>, bit for bit.</summary>
    /// <remarks>
    /// TorchSharp's <c>linalg.vector_norm</c> makes its ord Scalar and lets it die during the call.
    /// <c>Tensor.norm(p)</c> passes p as a plain float, and libtorch's <c>at::norm(a, p)</c> runs
    /// <c>linalg_vector_norm</c> over all dimensions: the same kernel and the same result.
    /// </remarks>
    public static Tensor L2Norm(this Tensor a) => a.norm(2f);

    /// <summary>A tensor of <paramref name="size"/> filled with value (the default float dtype unless dtype says otherwise).</summary>
    public static Tensor Full(long[] size, double value, ScalarType? dtype = null, Device? device = null)
    {
        using var v = value.ToScalar();
        return torch.full(size, v, dtype, device);
    }

    /// <summary>A tensor of <paramref name="size"/> filled with an integer value (int64 unless dtype says otherwise).</summary>
    public static Tensor Full(long[] size, long value, ScalarType? dtype = null, Device? device = null)
    {
        using var v = value.ToScalar();
        return torch.full(size, v, dtype, device);
    }

    /// <summary>A tensor like a (shape, dtype, device) filled with value.</summary>
    public static Tensor FullLike(this Tensor a, double value)
    {
        using var v = value.ToScalar();
        return torch.full_like(a, v);
    }

    /// <summary>A tensor like a (shape, dtype, device) filled with an integer value.</summary>
    public static Tensor FullLike(this Tensor a, long value)
    {
        using var v = value.ToScalar();
        return torch.full_like(a, v);
    }

    /// <summary>0, 1, …, stop − 1 (int64 unless dtype says otherwise).</summary>
    public static Tensor Arange(long stop, ScalarType? dtype = null, Device? device = null) => Arange(0L, stop, 1L, dtype, device);

    /// <summary>start, start + 1, …, stop − 1 (int64 unless dtype says otherwise).</summary>
    public static Tensor Arange(long start, long stop, ScalarType? dtype = null, Device? device = null) => Arange(start, stop, 1L, dtype, device);

    /// <summary>start, start + step, … below stop (int64 unless dtype says otherwise).</summary>
    public static Tensor Arange(long start, long stop, long step, ScalarType? dtype = null, Device? device = null)
    {
        using var a = start.ToScalar();
        using var b = stop.ToScalar();
        using var c = step.ToScalar();
        return torch.arange(a, b, c, dtype, device);
    }

    /// <summary>start, start + step, … below stop.</summary>
    public static Tensor Arange(double start, double stop, double step, ScalarType? dtype = null, Device? device = null)
    {
        using var a = start.ToScalar();
        using var b = stop.ToScalar();
        using var c = step.ToScalar();
        return torch.arange(a, b, c, dtype, device);
    }
}
