namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q4_1 (ggml-common.h <c>block_q4_1</c>): 32 elements in 20 bytes, fp16 d = (max - min) / 15 and fp16 m = min,
/// then 16 bytes of 4-bit q = min(15, (int8)((x - min) / d + 0.5)); byte j holds element j in its low nibble and
/// j + 16 in its high nibble. <see cref="QuantizeRow"/> is <c>quantize_row_q4_1_ref</c>, byte for byte.
/// </summary>
public static class BlockQ4_1
{
    public const int BlockSize = 32;
    public const int BlockBytes = 4 + BlockSize / 2;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q4_1", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float id = BlockMath.WriteScaleMin(xb, yb, (1 << 4) - 1, out float min);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int xi0 = Math.Min(15, BlockMath.TruncateToInt8((xb[j] - min) * id + 0.5f));
                int xi1 = Math.Min(15, BlockMath.TruncateToInt8((xb[BlockSize / 2 + j] - min) * id + 0.5f));
                yb[4 + j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    /// <summary><c>dequantize_row_q4_1</c>: y = q * d + m.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q4_1", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.ReadF16(xb), m = BlockMath.ReadF16(xb[2..]);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                y[i * BlockSize + j] = (xb[4 + j] & 0x0F) * d + m;
                y[i * BlockSize + j + BlockSize / 2] = (xb[4 + j] >> 4) * d + m;
            }
        }
    }
}
