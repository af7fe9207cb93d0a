namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q4_0 (ggml-common.h <c>block_q4_0</c>): 32 elements in 18 bytes, an fp16 scale d = max / -8 (max is
/// the element of largest magnitude, with its sign) then 16 bytes of 4-bit q = min(15, (int8)(x / d + 8.5));
/// byte j holds element j in its low nibble and element j + 16 in its high nibble.
/// <see cref="QuantizeRow"/> is <c>quantize_row_q4_0_ref</c>, byte for byte.
/// </summary>
public static class BlockQ4_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 2 + BlockSize / 2;

    /// <summary><c>quantize_row_q4_0_ref</c>: <paramref name="x"/> (a multiple of 32 values) into <paramref name="y"/>.</summary>
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q4_0", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float id = BlockMath.WriteSignedScale(xb, yb, -8);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                float x0 = xb[j] * id, x1 = xb[BlockSize / 2 + j] * id;
                int xi0 = Math.Min(15, BlockMath.TruncateToInt8(x0 + 8.5f));
                int xi1 = Math.Min(15, BlockMath.TruncateToInt8(x1 + 8.5f));
                yb[2 + j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    /// <summary><c>dequantize_row_q4_0</c>: y = (q - 8) * d.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q4_0", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.ReadF16(xb);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                int x0 = (xb[2 + j] & 0x0F) - 8, x1 = (xb[2 + j] >> 4) - 8;
                y[i * BlockSize + j] = x0 * d;
                y[i * BlockSize + j + BlockSize / 2] = x1 * d;
            }
        }
    }
}
