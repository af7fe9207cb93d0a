using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q5_0 (ggml-common.h <c>block_q5_0</c>): 32 elements in 22 bytes, fp16 d = max / -16 (max: the element of
/// largest magnitude, with its sign), a little-endian uint32 qh of fifth bits (bit j for element j), then 16
/// bytes of low nibbles laid out as Q4_0's; q = min(31, (int8)(x / d + 16.5)).
/// <see cref="QuantizeRow"/> is <c>quantize_row_q5_0_ref</c>, byte for byte.
/// </summary>
public static class BlockQ5_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 2 + 4 + BlockSize / 2;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q5_0", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float id = BlockMath.WriteSignedScale(xb, yb, -16);
            uint qh = 0;
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int xi0 = Math.Min(31, BlockMath.TruncateToInt8(xb[j] * id + 16.5f));
                int xi1 = Math.Min(31, BlockMath.TruncateToInt8(xb[BlockSize / 2 + j] * id + 16.5f));
                yb[6 + j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + BlockSize / 2);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(yb[2..], qh);
        }
    }

    /// <summary><c>dequantize_row_q5_0</c>: y = (q - 16) * d.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q5_0", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.ReadF16(xb);
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(xb[2..]);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                var (q0, q1) = BlockMath.Q5Levels(xb[6 + j], qh, j);
                y[i * BlockSize + j] = (q0 - 16) * d;
                y[i * BlockSize + j + BlockSize / 2] = (q1 - 16) * d;
            }
        }
    }
}
