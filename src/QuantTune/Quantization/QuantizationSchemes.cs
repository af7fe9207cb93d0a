using QuantTune.Diagnostics;
using QuantTune.Quantization.FourBit;

namespace QuantTune.Quantization;

/// <summary>A quantization scheme by name and its options, turned into a quantizer by <see cref="QuantizationSchemes.Create"/>.</summary>
public sealed record SchemeOptions(string Scheme, int? Block = null, bool DoubleQuant = false, string? ClipMethod = null,
    string? Granularity = null, bool ZeroPoint = false);

/// <summary>
/// Scheme names: <c>nf4</c>, <c>fp4</c> (block-wise, default block 64, optional double
/// quantization), and <c>intK</c> for K = 2..8 (absmax, or zero-point with ZeroPoint; per
/// tensor, channel or block; optional clipping calibrated by percentile, mse or kl).
/// </summary>
public static partial class QuantizationSchemes
{
    public const string Names = "nf4, fp4, int2 … int8";

    public static IQuantizer Create(SchemeOptions o)
    {
        var scheme = o.Scheme.Trim().ToLowerInvariant();
        switch (scheme)
        {
            case "nf4":
            case "fp4":
                if (o.ClipMethod is not null)
                    throw new InvalidSettingException("SchemeOptions.ClipMethod", o.ClipMethod, $"{scheme} uses block-wise absmax and takes no clipping calibration");
                if (o.ZeroPoint) throw new InvalidSettingException("SchemeOptions.ZeroPoint", null, $"{scheme} is symmetric (block-wise absmax)");
                return new FourBitQuantizer(scheme == "nf4" ? FourBitType.NF4 : FourBitType.FP4, o.Block ?? 64, o.DoubleQuant);
            default:
                if (scheme.StartsWith("int") && int.TryParse(scheme[3..], out int bits))
                {
                    if (o.DoubleQuant) throw new InvalidSettingException("SchemeOptions.DoubleQuant", null, "applies to nf4 and fp4 only");
                    return CreateInteger(bits, o);
                }
                throw new InvalidSettingException("SchemeOptions.Scheme", o.Scheme, $"unknown scheme; expected one of {Names}");
        }
    }
}
