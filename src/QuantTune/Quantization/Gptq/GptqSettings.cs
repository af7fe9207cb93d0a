using System.Globalization;
using QuantTune.Diagnostics;
using QuantTune.Quantization.Integer;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// The knobs of GPTQ (IST-DASLab/gptq, docs/design.md §5) for one weight matrix and for a model.
/// </summary>
/// <param name="Bits">Bits per code: 2, 3, 4 or 8 (what the GPTQ checkpoint layout packs).</param>
/// <param name="GroupSize">Input columns per scale/zero group (e.g. 128), or -1 for one group per output channel. A last, shorter group covers the columns left over.</param>
/// <param name="Mode">Symmetric (absmax) or asymmetric (zero point): the same grid as the integer RTN quantizer.</param>
/// <param name="ActOrder">Quantize columns by descending Hessian diagonal ("desc_act"), recording each column's group in g_idx.</param>
/// <param name="Damp">Dampening added to the Hessian diagonal, as a fraction of its mean (percdamp).</param>
/// <param name="BlockSize">Columns per lazy batch (128 in the paper).</param>
/// <param name="TrueSequential">Quantize a decoder layer's linears in the order q/k/v, o, gate/up, down, each group seeing the inputs of the already-quantized ones.</param>
public sealed record GptqSettings(int Bits = 4, int GroupSize = 128, IntegerMode Mode = IntegerMode.ZeroPoint, bool ActOrder = false,
    double Damp = 0.01, int BlockSize = 128, bool TrueSequential = true)
{
    public static readonly int[] SupportedBits = [2, 3, 4, 8];

    /// <summary>Throws a <see cref="QuantTuneException"/> naming the setting when a value cannot be used.</summary>
    public void Validate()
    {
        if (!SupportedBits.Contains(Bits))
            throw new InvalidSettingException("GptqSettings.Bits", Bits, "not supported by GPTQ; expected 2, 3, 4 or 8");
        if (GroupSize is 0 or < -1 or 1)
            throw new InvalidSettingException("GptqSettings.GroupSize", GroupSize, "not a group size; expected -1 (per output channel) or at least 2 columns");
        if (!(Damp > 0 && Damp < 1))
            throw new InvalidSettingException("GptqSettings.Damp", Damp, "not a dampening fraction; expected a number in (0, 1), e.g. 0.01");
        if (BlockSize < 1)
            throw new InvalidSettingException("GptqSettings.BlockSize", BlockSize, "expected at least 1 column per lazy batch");
        if (!Enum.IsDefined(Mode))
            throw new InvalidSettingException("GptqSettings.Mode", (int)Mode, "not a quantization mode; expected absmax or zeropoint");
    }

    /// <summary>Checks that a weight of <paramref name="columns"/> input features can be grouped as asked.</summary>
    public void ValidateFor(string name, long columns)
    {
        if (GroupSize > columns)
            throw new InvalidSettingException("GptqSettings.GroupSize", GroupSize, $"'{name}' has only {columns} input features; expected a group of at most {columns} columns (or -1 for per-channel)");
    }

    /// <summary>Group size in columns for a matrix of <paramref name="columns"/> inputs.</summary>
    public long GroupColumns(long columns) => GroupSize == -1 ? columns : GroupSize;

    /// <summary>Columns per lazy batch: a multiple of the group so that every group starts with its columns fully updated.</summary>
    internal long LazyBlock(long columns)
    {
        long g = GroupColumns(columns);
        if (GroupSize == -1 || (g <= BlockSize && BlockSize % g == 0)) return BlockSize;
        return g;
    }

    /// <summary>"gptq-int4-zeropoint-g128-actorder" style name.</summary>
    public string Name => GptqTensor.SchemeName(Bits, Mode, GroupSize, ActOrder);
}
