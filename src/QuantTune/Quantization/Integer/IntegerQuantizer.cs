using QuantTune.Quantization.Packing;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Integer;

/// <summary>
/// Uniform integer quantization (absmax or zero point; per tensor, channel or block; optional
/// clipping) of a real tensor into an <see cref="IntegerQuantizedTensor"/>. All arithmetic is
/// float32 on the tensor's device, vectorised over groups; see <see cref="IntegerMath"/> for the
/// exact formulas and the rounding (half to even).
/// </summary>
public sealed class IntegerQuantizer : IQuantizer
{
    /// <summary>Checks <paramref name="settings"/> (bits 2..8, block ≥ 2) and keeps it.</summary>
    public IntegerQuantizer(IntegerScheme settings)
    {
        settings.Validate();
        Settings = settings;
    }

    /// <summary>The scheme this quantizer applies.</summary>
    public IntegerScheme Settings { get; }

    /// <inheritdoc/>
    public string Scheme => Settings.Name;

    /// <inheritdoc/>
    public QuantizedTensor Quantize(Tensor x) => QuantizeInteger(x);

    /// <summary><see cref="Quantize"/> with the concrete result type.</summary>
    public IntegerQuantizedTensor QuantizeInteger(Tensor x)
    {
        var s = Settings;
        var layout = GroupLayout.For(x.shape, s.Granularity, s.BlockSize);
        using var scope = NewDisposeScope();
        var grouped = layout.Arrange(x.detach().to_type(ScalarType.Float32));
        Tensor scale;
        Tensor? zero = null;
        if (s.Mode == IntegerMode.Absmax)
        {
            var alpha = grouped.abs().amax(new long[] { 1 });
            if (s.Clipping is not null)
            {
                using var range = s.Clipping.Choose(grouped, s.Bits, symmetric: true);
                alpha = minimum(alpha, range.High.to_type(ScalarType.Float32)).ClampedMinInPlace(0);
            }
            scale = IntegerMath.AbsmaxScale(alpha, s.Bits);
        }
        else
        {
            var lo = grouped.amin(new long[] { 1 });
            var hi = grouped.amax(new long[] { 1 });
            if (s.Clipping is not null)
            {
                using var range = s.Clipping.Choose(grouped, s.Bits, symmetric: false);
                lo = maximum(lo, range.Low.to_type(ScalarType.Float32));
                hi = maximum(minimum(hi, range.High.to_type(ScalarType.Float32)), lo);
            }
            (scale, zero) = IntegerMath.ZeroPointConstants(lo, hi, s.Bits);
        }
        var codes = IntegerMath.Codes(grouped, scale, zero, s.Bits)
            .PlusInPlace(s.CodeOffset).to_type(ScalarType.Byte).flatten().narrow(0, 0, layout.Elements);
        var packed = BitPacker.Pack(codes, s.Bits);
        return new IntegerQuantizedTensor(
            (long[])x.shape.Clone(), s.Bits, s.Mode, s.Granularity, s.Granularity == Granularity.Block ? s.BlockSize : 0,
            s.Clipping?.Name, packed.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope(), zero?.MoveToOuterDisposeScope());
    }
}
