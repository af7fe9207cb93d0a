using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Encodes float data into a <see cref="GgmlType"/> and back, dispatching to the per-format reference functions.
/// Tensors longer than <see cref="ChunkElements"/> are split into chunks of whole blocks that run in parallel;
/// blocks are independent, so the bytes are those of one sequential pass.
/// </summary>
public static class GgmlCodec
{
    /// <summary>Elements per parallel chunk: a multiple of every block size (1, 32 and 256).</summary>
    public const int ChunkElements = 64 * GgmlTypes.QK_K;

    delegate void RowQuantizer(ReadOnlySpan<float> x, Span<byte> y);
    delegate void RowDequantizer(ReadOnlySpan<byte> x, Span<float> y);

    static (RowQuantizer Quantize, RowDequantizer Dequantize) Codec(GgmlType type) => type switch
    {
        GgmlType.F32 => (BlockF32.QuantizeRow, BlockF32.DequantizeRow),
        GgmlType.F16 => (BlockF16.QuantizeRow, BlockF16.DequantizeRow),
        GgmlType.BF16 => (BlockBF16.QuantizeRow, BlockBF16.DequantizeRow),
        GgmlType.Q4_0 => (BlockQ4_0.QuantizeRow, BlockQ4_0.DequantizeRow),
        GgmlType.Q4_1 => (BlockQ4_1.QuantizeRow, BlockQ4_1.DequantizeRow),
        GgmlType.Q5_0 => (BlockQ5_0.QuantizeRow, BlockQ5_0.DequantizeRow),
        GgmlType.Q5_1 => (BlockQ5_1.QuantizeRow, BlockQ5_1.DequantizeRow),
        GgmlType.Q8_0 => (BlockQ8_0.QuantizeRow, BlockQ8_0.DequantizeRow),
        GgmlType.Q2_K => (BlockQ2_K.QuantizeRow, BlockQ2_K.DequantizeRow),
        GgmlType.Q3_K => (BlockQ3_K.QuantizeRow, BlockQ3_K.DequantizeRow),
        GgmlType.Q4_K => (BlockQ4_K.QuantizeRow, BlockQ4_K.DequantizeRow),
        GgmlType.Q5_K => (BlockQ5_K.QuantizeRow, BlockQ5_K.DequantizeRow),
        GgmlType.Q6_K => (BlockQ6_K.QuantizeRow, BlockQ6_K.DequantizeRow),
        GgmlType.TQ1_0 => (BlockTQ1_0.QuantizeRow, BlockTQ1_0.DequantizeRow),
        GgmlType.TQ2_0 => (BlockTQ2_0.QuantizeRow, BlockTQ2_0.DequantizeRow),
        _ => throw new NotSupportedException($"ggml type {type} has no codec"),
    };

    /// <summary>Encodes <paramref name="x"/> (a whole number of blocks) as <paramref name="type"/>.</summary>
    public static unsafe byte[] Quantize(GgmlType type, ReadOnlySpan<float> x)
    {
        var quantize = Codec(type).Quantize;
        long bytes = type.ByteCount(x.Length) ?? throw new ArgumentException($"{x.Length} values are not a whole number of {type} blocks ({type.BlockSize()})");
        var y = new byte[bytes];
        if (x.Length <= ChunkElements)
        {
            quantize(x, y);
            return y;
        }
        int n = x.Length, blockSize = type.BlockSize(), blockBytes = type.BlockBytes();
        fixed (float* px = x)
        fixed (byte* py = y)
        {
            nint xs = (nint)px, ys = (nint)py;
            Parallel.For(0, (n + ChunkElements - 1) / ChunkElements, c =>
            {
                int start = c * ChunkElements, count = Math.Min(ChunkElements, n - start);
                quantize(new ReadOnlySpan<float>((float*)xs + start, count),
                    new Span<byte>((byte*)ys + (long)(start / blockSize) * blockBytes, count / blockSize * blockBytes));
            });
        }
        return y;
    }

    /// <summary>Decodes <paramref name="elements"/> values of <paramref name="type"/> from <paramref name="x"/>.</summary>
    public static unsafe float[] Dequantize(GgmlType type, ReadOnlySpan<byte> x, int elements)
    {
        var dequantize = Codec(type).Dequantize;
        long bytes = type.ByteCount(elements) ?? throw new ArgumentException($"{elements} values are not a whole number of {type} blocks ({type.BlockSize()})");
        if (x.Length != bytes) throw new ArgumentException($"{elements} {type} values take {bytes} bytes, not {x.Length}");
        var y = new float[elements];
        if (elements <= ChunkElements)
        {
            dequantize(x, y);
            return y;
        }
        int blockSize = type.BlockSize(), blockBytes = type.BlockBytes();
        fixed (byte* px = x)
        fixed (float* py = y)
        {
            nint xs = (nint)px, ys = (nint)py;
            Parallel.For(0, (elements + ChunkElements - 1) / ChunkElements, c =>
            {
                int start = c * ChunkElements, count = Math.Min(ChunkElements, elements - start);
                dequantize(new ReadOnlySpan<byte>((byte*)xs + (long)(start / blockSize) * blockBytes, count / blockSize * blockBytes),
                    new Span<float>((float*)ys + start, count));
            });
        }
        return y;
    }
}
