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

    /// <summary>a / s.</summary>
    public static Tensor DividedBy(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.div(value);
    }

    /// <summary>a /= s, in place.</summary>
    public static Tensor DividedByInPlace(this Tensor a, double s)
    {
        using var value = s.ToScalar();
        return a.div_(value);
    }

    /// <summary>s / a (TorchSharp's <c>operator /(double, Tensor)</c>: (1/a) · s).</summary>
    public static Tensor Dividing(this Tensor a, double s)
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

    /// <summary>min(max(a, low), high).</summary>
    public static Tensor Clamped(this Tensor a, double low, double high)
    {
        using var lo = low.ToScalar();
        using var hi = high.ToScalar();
        return a.clamp(lo, hi);
    }

    /// <summary>max(a, low).</summary>
    public static Tensor ClampedMin(this Tensor a, double low)
    {
        using var lo = low.ToScalar();
        return a.clamp_min(lo);
    }

    /// <summary>max(a, high).</summary>
    public static Tensor ClampedMax(this Tensor a, double high)
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

    /// <summary>0, 1, …, stop − 1 (int64 unless dtype says otherwise).</summary>
    public static Tensor Arange(long stop, ScalarType? dtype = null, Device? device = null) => Arange(0L, stop, 1L, dtype, device);

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
