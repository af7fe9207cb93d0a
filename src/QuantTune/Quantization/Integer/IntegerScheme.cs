using System.Globalization;
using QuantTune.Diagnostics;
using QuantTune.Quantization.Calibration;

namespace QuantTune.Quantization.Integer;

/// <summary>
/// A uniform integer quantization scheme (docs/design.md §4): <see cref="Bits"/> per code, symmetric
/// (<see cref="IntegerMode.Absmax"/>) or asymmetric (<see cref="IntegerMode.ZeroPoint"/>), one
/// scale per group of the <see cref="Granularity"/>, and an optional <see cref="Clipping"/>
/// calibrator that narrows each group's range (null: the group's own min/max).
/// </summary>
/// <param name="Bits">Bits per code, 2..8.</param>
/// <param name="Mode">Symmetric or asymmetric.</param>
/// <param name="Granularity">Which elements share a scale.</param>
/// <param name="BlockSize">Elements per block for <see cref="Granularity.Block"/> (at least 2); ignored otherwise.</param>
/// <param name="Clipping">Chooses the clip range per group; null keeps the full min/max range.</param>
public sealed record IntegerScheme(int Bits, IntegerMode Mode, Granularity Granularity, int BlockSize = 0, IClipCalibrator? Clipping = null)
{
    /// <summary>
    /// The scheme's name: "int{bits}-{absmax|zeropoint}-{tensor|channel|block{B}}", with
    /// "-clip-{calibrator}" appended when clipping, e.g. "int4-absmax-block64-clip-mse".
    /// </summary>
    public string Name
    {
        get
        {
            var mode = Mode == IntegerMode.Absmax ? "absmax" : "zeropoint";
            var name = $"int{Bits}-{mode}-{GranularityName(Granularity, BlockSize)}";
            return Clipping is null ? name : $"{name}-clip-{Clipping.Name}";
        }
    }

    /// <summary>The largest signed code: 2^(b-1) − 1 (absmax codes are symmetric around 0).</summary>
    internal int MaxCode => (1 << (Bits - 1)) - 1;

    /// <summary>What is added to a signed code to store it unsigned: 2^(b-1).</summary>
    internal int CodeOffset => 1 << (Bits - 1);

    /// <summary>Throws a <see cref="QuantTuneException"/> naming the setting when the scheme cannot be used.</summary>
    public void Validate()
    {
        if (Bits is < 2 or > 8)
            throw new InvalidSettingException("IntegerScheme.Bits", Bits, "not supported for integer quantization; expected 2..8");
        if (!Enum.IsDefined(Mode))
            throw new InvalidSettingException("IntegerScheme.Mode", (int)Mode, "not a quantization mode; expected absmax or zeropoint");
        if (!Enum.IsDefined(Granularity))
            throw new InvalidSettingException("IntegerScheme.Granularity", (int)Granularity, "not a granularity; expected tensor, channel or block");
        if (Granularity == Granularity.Block && BlockSize < 2)
            throw new InvalidSettingException("IntegerScheme.BlockSize", BlockSize, "not a block size; expected at least 2 elements per block");
    }

    internal static string GranularityName(Granularity granularity, int blockSize) => granularity switch
    {
        Granularity.Tensor => "tensor",
        Granularity.Channel => "channel",
        _ => "block" + blockSize.ToString(CultureInfo.InvariantCulture),
    };
}
