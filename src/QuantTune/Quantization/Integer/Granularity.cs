namespace QuantTune.Quantization.Integer;

/// <summary>Which elements share one scale (and zero point): a group.</summary>
public enum Granularity
{
    /// <summary>One group: the whole tensor.</summary>
    Tensor,

    /// <summary>One group per output channel: per row of a [out, in] weight (a tensor of rank ≥ 2 is read as [shape[0], rest]).</summary>
    Channel,

    /// <summary>One group per block of <see cref="IntegerScheme.BlockSize"/> consecutive elements of the flattened (row-major) tensor.</summary>
    Block,
}
