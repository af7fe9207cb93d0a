namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// TQ2_0 (ggml-common.h <c>block_tq2_0</c>, ternary): 256 elements in 66 bytes: 64 bytes of 2-bit codes
/// t = round(x / amax) + 1 (byte m of each 32-byte group: elements m, m+32, m+64, m+96 of its 128, lowest bits
/// first), then fp16 d = amax; x = (t - 1) * d. <see cref="QuantizeRow"/> is <c>quantize_row_tq2_0_ref</c>, byte for byte.
/// </summary>
public static class BlockTQ2_0
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 64 + 2;
    const int DAt = 64;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("TQ2_0", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float id = BlockMath.WriteAbsMaxScale(xb, yb[DAt..]);
            for (int j = 0; j < 64; j += 32)
                for (int m = 0; m < 32; ++m)
                {
                    int q = 0;
                    for (int n = 0; n < 4; ++n)
                        q += ((BlockMath.RoundAway(xb[4 * j + m + n * 32] * id) + 1) & 3) << (2 * n);
                    yb[j + m] = (byte)q;
                }
        }
    }

    /// <summary><c>dequantize_row_tq2_0</c>: y = (t - 1) * d.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("TQ2_0", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            var yb = y.Slice(i * BlockSize, BlockSize);
            float d = BlockMath.ReadF16(xb[DAt..]);
            int o = 0;
            for (int j = 0; j < 64; j += 32)
                for (int l = 0; l < 4; ++l)
                    for (int m = 0; m < 32; ++m)
                        yb[o++] = (float)(((xb[j + m] >> (l * 2)) & 3) - 1) * d;
        }
    }
}
