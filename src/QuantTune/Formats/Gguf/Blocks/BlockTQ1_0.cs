namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// TQ1_0 (ggml-common.h <c>block_tq1_0</c>, ternary): 256 elements in 54 bytes: 48 bytes of five trits each,
/// 4 bytes of four trits each, then fp16 d = amax; x = (t - 1) * d with t in {0, 1, 2}. A byte holds its trits
/// as the base-3 number v scaled to ceil(v * 256 / 243), so trit n comes back as ((byte)(b * 3^n) * 3) &gt;&gt; 8.
/// <see cref="QuantizeRow"/> is <c>quantize_row_tq1_0_ref</c>, byte for byte.
/// </summary>
public static class BlockTQ1_0
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 48 + 4 + 2;
    const int QhAt = 48, DAt = 52;
    static readonly byte[] Pow3 = [1, 3, 9, 27, 81, 243];

    // Element order: qs[0..31] carry elements m + 32n (n = 0..4), qs[32..47] carry 160 + m + 16n, qh[0..3] carry 240 + j + 4n.
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("TQ1_0", BlockSize, BlockBytes, x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float id = BlockMath.WriteAbsMaxScale(xb, yb[DAt..]);
            for (int m = 0; m < 32; ++m) yb[m] = PackTrits(xb, m, 32, 5, id);
            for (int m = 0; m < 16; ++m) yb[32 + m] = PackTrits(xb, 160 + m, 16, 5, id);
            for (int j = 0; j < 4; ++j) yb[QhAt + j] = PackTrits(xb, 240 + j, 4, 4, id);
        }
    }

    /// <summary>
    /// <paramref name="count"/> trits round(x * id) + 1 of elements first, first + stride, ... as a base-3 number
    /// (the first most significant, four-trit groups shifted up one trit), stored as ceil(v * 256 / 243).
    /// </summary>
    static byte PackTrits(ReadOnlySpan<float> x, int first, int stride, int count, float id)
    {
        int q = 0;
        for (int n = 0; n < count; ++n) q = q * 3 + BlockMath.RoundAway(x[first + n * stride] * id) + 1;
        if (count == 4) q *= 3;
        q &= 0xFF; // the reference accumulates in a uint8_t
        return (byte)((q * 256 + (243 - 1)) / 243);
    }

    /// <summary><c>dequantize_row_tq1_0</c>: y = (t - 1) * d.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("TQ1_0", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            var yb = y.Slice(i * BlockSize, BlockSize);
            float d = BlockMath.ReadF16(xb[DAt..]);
            int o = 0;
            for (int n = 0; n < 5; ++n)
                for (int m = 0; m < 32; ++m) yb[o++] = Trit(xb[m], n) * d;
            for (int n = 0; n < 5; ++n)
                for (int m = 0; m < 16; ++m) yb[o++] = Trit(xb[32 + m], n) * d;
            for (int n = 0; n < 4; ++n)
                for (int j = 0; j < 4; ++j) yb[o++] = Trit(xb[QhAt + j], n) * d;
        }
    }

    /// <summary>Trit <paramref name="n"/> of <paramref name="b"/>, minus one: <c>((uint8_t)(b * pow3[n]) * 3) &gt;&gt; 8</c> - 1.</summary>
    static float Trit(byte b, int n) => (float)((((byte)(b * Pow3[n])) * 3 >> 8) - 1);
}
