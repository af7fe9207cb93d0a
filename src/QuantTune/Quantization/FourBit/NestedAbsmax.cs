using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.FourBit;

/// <summary>
/// Double-quantized absmax constants: absmax[i] = Map[Codes[i]] · Constants[i / BlockSize] + Offset
/// (bitsandbytes keys: absmax, nested_absmax, nested_quant_map, nested_offset).
/// </summary>
public sealed record NestedAbsmax(Tensor Codes, Tensor Constants, Tensor Map, int BlockSize, float Offset)
{
    /// <summary>The fp32 absmax of blocks [start, start + count).</summary>
    public Tensor Dequantize(long start, long count)
    {
        using var scope = NewDisposeScope();
        var codes = Codes.narrow(0, start, count).to_type(ScalarType.Int64);
        var blockOf = PinnedScalarMath.Arange(start, start + count, ScalarType.Int64, Codes.device).FloorDividedBy(BlockSize);
        var values = (Map.index_select(0, codes) * Constants.index_select(0, blockOf)).Plus(Offset);
        return values.MoveToOuterDisposeScope();
    }
}
