namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q8_0 (ggml-common.h <c>block_q8_0</c>): 32 elements in 34 bytes, an fp16 scale d = amax / 127 then
/// 32 int8 q = roundf(x / d). <see cref="QuantizeRow"/> is <c>quantize_row_q8_0_ref</c>, byte for byte.
/// </summary>
public static class BlockQ8_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 2 + BlockSize;

    /// <summary><c>quantize_row_q8_0_ref</c>: <paramref name="x"/> (a multiple of 32 values) into <paramref name="y"/>.</summary>
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q8_0", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.AbsMax(xb) / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            BlockMath.WriteF16(yb, d);
            for (int j = 0; j < BlockSize; j++)
                yb[2 + j] = unchecked((byte)(sbyte)BlockMath.RoundAway(xb[j] * id));
        }
    }

    /// <summary><c>dequantize_row_q8_0</c>: y = q * d.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q8_0", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.ReadF16(xb);
            for (int j = 0; j < BlockSize; j++) y[i * BlockSize + j] = (sbyte)xb[2 + j] * d;
        }
    }
}
