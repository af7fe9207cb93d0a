using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q5_1 (ggml-common.h <c>block_q5_1</c>): 32 elements in 24 bytes, fp16 d = (max - min) / 31 and fp16 m = min,
/// a little-endian uint32 qh of fifth bits, then 16 bytes of low nibbles; q = (uint8)((x - min) / d + 0.5).
/// <see cref="QuantizeRow"/> is <c>quantize_row_q5_1_ref</c>, byte for byte.
/// </summary>
public static class BlockQ5_1
{
    public const int BlockSize = 32;
    public const int BlockBytes = 4 + 4 + BlockSize / 2;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q5_1", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float id = BlockMath.WriteScaleMin(xb, yb, (1 << 5) - 1, out float min);
            uint qh = 0;
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int xi0 = (byte)(int)MathF.Truncate((xb[j] - min) * id + 0.5f);
                int xi1 = (byte)(int)MathF.Truncate((xb[BlockSize / 2 + j] - min) * id + 0.5f);
                yb[8 + j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + BlockSize / 2);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(yb[4..], qh);
        }
    }

    /// <summary><c>dequantize_row_q5_1</c>: y = q * d + m.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q5_1", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.ReadF16(xb), m = BlockMath.ReadF16(xb[2..]);
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(xb[4..]);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                var (q0, q1) = BlockMath.Q5Levels(xb[8 + j], qh, j);
                y[i * BlockSize + j] = q0 * d + m;
                y[i * BlockSize + j + BlockSize / 2] = q1 * d + m;
            }
        }
    }
}
