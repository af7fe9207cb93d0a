namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q4_K (ggml-common.h <c>block_q4_K</c>): 256 elements in 144 bytes: fp16 d and dmin, 12 bytes of eight 6-bit
/// scales and mins (<see cref="KQuantMath.GetScaleMinK4"/>), then 128 bytes of 4-bit levels (byte l of each
/// 32-byte group: element l in the low nibble, l + 32 in the high nibble of its 64); x = d * sc * q - dmin * m.
/// <see cref="QuantizeRow"/> is <c>quantize_row_q4_K_ref</c>, byte for byte.
/// </summary>
public static class BlockQ4_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 4 + 12 + 128;
    const int ScalesAt = 4, QsAt = 16;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q4_K", BlockSize, BlockBytes, x.Length, y.Length);
        Span<byte> L = stackalloc byte[BlockSize];
        for (int i = 0; i < nb; i++)
        {
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            KQuantMath.QuantizeScaleMinSuperBlock(x.Slice(i * BlockSize, BlockSize), nmax: 15, rmin: -1.0f, nstep: 20,
                yb[..4], yb.Slice(ScalesAt, 12), L);
            var q = yb.Slice(QsAt, 128);
            for (int j = 0; j < BlockSize; j += 64)
                for (int l = 0; l < 32; ++l)
                    q[j / 2 + l] = (byte)(L[j + l] | (L[j + l + 32] << 4));
        }
    }

    /// <summary><c>dequantize_row_q4_K</c>: y = d * sc * q - dmin * m per 32-element sub-block.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q4_K", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            var yb = y.Slice(i * BlockSize, BlockSize);
            float d = BlockMath.ReadF16(xb), min = BlockMath.ReadF16(xb[2..]);
            var scales = xb.Slice(ScalesAt, 12);
            for (int j = 0, o = 0; j < BlockSize; j += 64)
            {
                var q = xb.Slice(QsAt + j / 2, 32);
                var (sc1, m1) = KQuantMath.GetScaleMinK4(j / 32, scales);
                var (sc2, m2) = KQuantMath.GetScaleMinK4(j / 32 + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                for (int l = 0; l < 32; ++l) yb[o++] = d1 * (q[l] & 0xF) - min1;
                for (int l = 0; l < 32; ++l) yb[o++] = d2 * (q[l] >> 4) - min2;
            }
        }
    }
}
