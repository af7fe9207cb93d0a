using QuantTune.Diagnostics;
using QuantTune.Quantization;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// Fake quantization for quantization-aware training: the forward pass sees
/// dequantize(quantize(x)), the backward pass a straight-through estimator (STE).
/// <para>
/// Implementation: no custom autograd function. The plain STE is <c>x + (q(x) − x).detach()</c>,
/// whose value is q(x) and whose gradient is the identity. Clipping is expressed with
/// <c>clamp</c>, whose own backward is 1 inside [min, max] and 0 outside; rounding then goes
/// through the detach trick, so the gradient with clipping on is exactly the in-range mask.
/// A learnable scale s gets the LSQ gradient for free: y = s·r(v), v = x/s, so ∂y/∂s = r − v
/// inside the range and ±qmax outside.
/// </para>
/// </summary>
public static class FakeQuant
{
    /// <summary>Smallest scale used, so an all-zero tensor or token does not divide by zero.</summary>
    public const double MinScale = 1e-8;

    /// <summary>The plain STE: value of <paramref name="quantized"/>, gradient of <paramref name="x"/>.</summary>
    public static Tensor Ste(Tensor x, Tensor quantized)
    {
        using var scope = NewDisposeScope();
        return x.Plus((quantized - x).detach()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// dequantize(quantize(x)) under any <see cref="IQuantizer"/> scheme (nf4, fp4, intK …) with the
    /// plain STE: the schemes are not differentiable, so the gradient is the identity everywhere.
    /// </summary>
    public static Tensor Scheme(Tensor x, IQuantizer quantizer)
    {
        using var scope = NewDisposeScope();
        return Ste(x, RoundTrip(x, quantizer)).MoveToOuterDisposeScope();
    }

    /// <summary>dequantize(quantize(x)) under <paramref name="quantizer"/>, detached: the values on its grid.</summary>
    public static Tensor RoundTrip(Tensor x, IQuantizer quantizer)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var q = quantizer.Quantize(x.detach());
        return q.Dequantize(x.dtype).to(x.device).reshape(x.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Largest code of symmetric signed k-bit quantization, 2^(k−1) − 1 (127 for 8 bits, 1 for 2 bits).</summary>
    public static int MaxCode(int bits) =>
        bits is >= 2 and <= 16 ? (1 << (bits - 1)) - 1 : throw new QuantTuneException($"fake quantization: {bits} bits; expected 2 to 16");

    /// <summary>
    /// Absmax scale max|x| / qmax, per tensor (a scalar) or per row (shape [..., 1]), detached:
    /// the initial value of a learnable scale, and the scale used when none is given.
    /// </summary>
    public static Tensor AbsmaxScale(Tensor x, int bits, QuantGranularity granularity)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var absmax = granularity == QuantGranularity.PerTensor ? x.abs().max() : x.abs().amax([-1], keepdim: true);
        return absmax.DividedBy(MaxCode(bits)).ClampedMin(MinScale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Symmetric INT-k: s·round(clamp(x/s, −qmax, qmax)). Without <paramref name="scale"/> the
    /// absmax scale of <paramref name="granularity"/> is used (then nothing is out of range).
    /// With <paramref name="clip"/> the gradient to x is 1 inside the range and 0 outside; without
    /// it, 1 everywhere. A scale that requires grad receives a gradient (see the class remarks).
    /// </summary>
    public static Tensor SymmetricInt(Tensor x, int bits, QuantGranularity granularity = QuantGranularity.PerTensor,
        bool clip = true, Tensor? scale = null)
    {
        using var scope = NewDisposeScope();
        int qmax = MaxCode(bits);
        var s = scale ?? AbsmaxScale(x, bits, granularity);
        var v = x / s;
        var clamped = v.Clamped(-qmax, qmax);
        // Clipping off: the value is clamped but the gradient passes as if it were not.
        var inRange = clip ? clamped : Ste(v, clamped);
        var rounded = Ste(inRange, inRange.round());
        return (rounded * s).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The activation quantizer of BitNet and of W8A8 QAT: 8-bit absmax per token, scale
    /// 127/max|x| applied as x·(127/max|x|), rounded, divided back; plain STE.
    /// </summary>
    public static Tensor PerToken8Bit(Tensor x) => PerToken(x, 8);

    /// <summary>Per-token absmax activation fake quantization to <paramref name="bits"/> bits (8: <see cref="PerToken8Bit"/>).</summary>
    public static Tensor PerToken(Tensor x, int bits) => SymmetricInt(x, bits, QuantGranularity.PerRow, clip: false);
}
