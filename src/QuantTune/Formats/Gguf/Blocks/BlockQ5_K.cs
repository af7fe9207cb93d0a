namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q5_K (ggml-common.h <c>block_q5_K</c>): 256 elements in 176 bytes: fp16 d and dmin, 12 bytes of eight 6-bit
/// scales and mins (as Q4_K), a 32-byte qh of fifth bits (two bits per 64-element group), then 128 bytes of low
/// nibbles laid out as Q4_K's; x = d * sc * q - dmin * m.
/// <see cref="QuantizeRow"/> is <c>quantize_row_q5_K_ref</c>, byte for byte.
/// </summary>
public static class BlockQ5_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 4 + 12 + 32 + 128;
    const int ScalesAt = 4, QhAt = 16, QsAt = 48;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q5_K", BlockSize, BlockBytes, x.Length, y.Length);
        Span<byte> L = stackalloc byte[BlockSize];
        for (int i = 0; i < nb; i++)
        {
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            KQuantMath.QuantizeScaleMinSuperBlock(x.Slice(i * BlockSize, BlockSize), nmax: 31, rmin: -0.5f, nstep: 15,
                yb[..4], yb.Slice(ScalesAt, 12), L);
            var qh = yb.Slice(QhAt, 32);
            var ql = yb.Slice(QsAt, 128);
            qh.Clear();
            int m1 = 1, m2 = 2;
            for (int n = 0; n < BlockSize; n += 64, m1 <<= 2, m2 <<= 2)
            {
                for (int j = 0; j < 32; ++j)
                {
                    int l1 = L[n + j];
                    if (l1 > 15) { l1 -= 16; qh[j] |= (byte)m1; }
                    int l2 = L[n + j + 32];
                    if (l2 > 15) { l2 -= 16; qh[j] |= (byte)m2; }
                    ql[n / 2 + j] = (byte)(l1 | (l2 << 4));
                }
            }
        }
    }

    /// <summary><c>dequantize_row_q5_K</c>: y = d * sc * (nibble + 16 * qh bit) - dmin * m per 32-element sub-block.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q5_K", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            var yb = y.Slice(i * BlockSize, BlockSize);
            float d = BlockMath.ReadF16(xb), min = BlockMath.ReadF16(xb[2..]);
            var scales = xb.Slice(ScalesAt, 12);
            var qh = xb.Slice(QhAt, 32);
            int u1 = 1, u2 = 2;
            for (int j = 0, o = 0; j < BlockSize; j += 64, u1 <<= 2, u2 <<= 2)
            {
                var ql = xb.Slice(QsAt + j / 2, 32);
                var (sc1, m1) = KQuantMath.GetScaleMinK4(j / 32, scales);
                var (sc2, m2) = KQuantMath.GetScaleMinK4(j / 32 + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                for (int l = 0; l < 32; ++l) yb[o++] = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - min1;
                for (int l = 0; l < 32; ++l) yb[o++] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - min2;
            }
        }
    }
}
