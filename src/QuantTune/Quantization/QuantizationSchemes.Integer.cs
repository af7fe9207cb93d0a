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
            _ => throw new QuantTuneException($"--granularity {o.Granularity}: expected tensor, channel or block"),
        };
        if (granularity == Granularity.Block && o.Block is null)
            throw new QuantTuneException("--granularity block needs --block N");
        if (granularity != Granularity.Block && o.Block is not null)
            throw new QuantTuneException($"--block {o.Block} applies to --granularity block, not {o.Granularity}");
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
        _ => throw new QuantTuneException($"--clip-method {name}: expected percentile, mse or kl"),
    };
}
