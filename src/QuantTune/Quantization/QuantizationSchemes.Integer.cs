using QuantTune.Diagnostics;
using QuantTune.Quantization.Calibration;
using QuantTune.Quantization.Integer;

namespace QuantTune.Quantization;

public static partial class QuantizationSchemes
{
    static IQuantizer CreateInteger(int bits, SchemeOptions o)
    {
        var granularity = (o.Granularity?.Trim().ToLowerInvariant(), o.Block) switch
        {
            (null, null) => Granularity.Channel,
            (null, _) or ("block", _) => Granularity.Block,
            ("channel", _) => Granularity.Channel,
            ("tensor", _) => Granularity.Tensor,
            _ => throw new InvalidSettingException("SchemeOptions.Granularity", o.Granularity, "expected tensor, channel or block"),
        };
        if (granularity == Granularity.Block && o.Block is null)
            throw new InvalidSettingException("SchemeOptions.Block", null, "SchemeOptions.Granularity block needs a block size");
        if (granularity != Granularity.Block && o.Block is not null)
            throw new InvalidSettingException("SchemeOptions.Block", o.Block, $"applies to SchemeOptions.Granularity block, not {o.Granularity}");
        var scheme = new IntegerScheme(bits, o.ZeroPoint ? IntegerMode.ZeroPoint : IntegerMode.Absmax, granularity, o.Block ?? 0, Calibrator(o.ClipMethod));
        scheme.Validate();
        return new IntegerQuantizer(scheme);
    }

    /// <summary>percentile, mse or kl (null: no clipping, the range is min/max).</summary>
    public static IClipCalibrator? Calibrator(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "percentile" => new PercentileCalibrator(),
        "mse" => new MseCalibrator(),
        "kl" => new KlDivergenceCalibrator(),
        _ => throw new InvalidSettingException("SchemeOptions.ClipMethod", name, "expected percentile, mse or kl"),
    };
}
