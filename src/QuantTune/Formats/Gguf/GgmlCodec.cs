using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf;

/// <summary>Encodes float data into a <see cref="GgmlType"/> and back, dispatching to the per-format reference functions.</summary>
public static class GgmlCodec
{
    /// <summary>Encodes <paramref name="x"/> (a whole number of blocks) as <paramref name="type"/>.</summary>
    public static byte[] Quantize(GgmlType type, ReadOnlySpan<float> x)
    {
        long bytes = type.ByteCount(x.Length) ?? throw new ArgumentException($"{x.Length} values are not a whole number of {type} blocks ({type.BlockSize()})");
        var y = new byte[bytes];
        switch (type)
        {
            case GgmlType.F32: BlockF32.QuantizeRow(x, y); break;
            case GgmlType.F16: BlockF16.QuantizeRow(x, y); break;
            case GgmlType.Q8_0: BlockQ8_0.QuantizeRow(x, y); break;
            case GgmlType.Q4_0: BlockQ4_0.QuantizeRow(x, y); break;
            default: throw new NotSupportedException($"ggml type {type} has no codec yet");
        }
        return y;
    }

    /// <summary>Decodes <paramref name="elements"/> values of <paramref name="type"/> from <paramref name="x"/>.</summary>
    public static float[] Dequantize(GgmlType type, ReadOnlySpan<byte> x, int elements)
    {
        var y = new float[elements];
        switch (type)
        {
            case GgmlType.F32: BlockF32.DequantizeRow(x, y); break;
            case GgmlType.F16: BlockF16.DequantizeRow(x, y); break;
            case GgmlType.Q8_0: BlockQ8_0.DequantizeRow(x, y); break;
            case GgmlType.Q4_0: BlockQ4_0.DequantizeRow(x, y); break;
            default: throw new NotSupportedException($"ggml type {type} has no codec yet");
        }
        return y;
    }
}
