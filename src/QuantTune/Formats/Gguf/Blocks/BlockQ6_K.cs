namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q6_K (ggml-common.h <c>block_q6_K</c>): 256 elements in 210 bytes: 128 bytes of low nibbles, 64 bytes of
/// high 2-bit pairs, sixteen int8 scales (one per 16 elements), then fp16 d; x = d * sc * (q - 32).
/// <see cref="QuantizeRow"/> is <c>quantize_row_q6_K_ref</c>, byte for byte.
/// </summary>
public static class BlockQ6_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 128 + 64 + 16 + 2;
    const int QlAt = 0, QhAt = 128, ScalesAt = 192, DAt = 208;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q6_K", BlockSize, BlockBytes, x.Length, y.Length);
        Span<sbyte> L = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[16];
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ++ib)
            {
                float scale = KQuantMath.MakeQxQuants(32, xb.Slice(16 * ib, 16), L.Slice(16 * ib, 16));
                scales[ib] = scale;
                if (MathF.Abs(scale) > maxAbsScale) { maxAbsScale = MathF.Abs(scale); maxScale = scale; }
            }
            if (maxAbsScale < KQuantMath.GroupMaxEps)
            {
                yb.Clear();
                BlockMath.WriteF16(yb[DAt..], 0.0f);
                continue;
            }
            float iscale = -128.0f / maxScale;
            BlockMath.WriteF16(yb[DAt..], 1 / iscale);
            var sc = yb.Slice(ScalesAt, 16);
            for (int ib = 0; ib < 16; ++ib)
                sc[ib] = unchecked((byte)(sbyte)Math.Min(127, KQuantMath.NearestInt(iscale * scales[ib])));

            float dAll = BlockMath.ReadF16(yb[DAt..]);
            for (int j = 0; j < 16; ++j)
            {
                float d = dAll * (sbyte)sc[j];
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ++ii)
                {
                    int l = KQuantMath.NearestInt(xb[16 * j + ii] / d);
                    L[16 * j + ii] = (sbyte)(Math.Max(-32, Math.Min(31, l)) + 32);
                }
            }

            for (int j = 0; j < BlockSize; j += 128)
            {
                var ql = yb.Slice(QlAt + j / 2, 64);
                var qh = yb.Slice(QhAt + j / 4, 32);
                for (int l = 0; l < 32; ++l)
                {
                    int l0 = L[j + l], l1 = L[j + l + 32], l2 = L[j + l + 64], l3 = L[j + l + 96];
                    ql[l] = (byte)((l0 & 0xF) | ((l2 & 0xF) << 4));
                    ql[l + 32] = (byte)((l1 & 0xF) | ((l3 & 0xF) << 4));
                    qh[l] = (byte)((l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
                }
            }
        }
    }

    /// <summary><c>dequantize_row_q6_K</c>: y = d * sc * (q - 32).</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q6_K", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = BlockMath.ReadF16(xb[DAt..]);
            for (int n = 0; n < BlockSize; n += 128)
            {
                var ql = xb.Slice(QlAt + n / 2, 64);
                var qh = xb.Slice(QhAt + n / 4, 32);
                var sc = xb.Slice(ScalesAt + n / 16, 8);
                var yn = y.Slice(i * BlockSize + n, 128);
                for (int l = 0; l < 32; ++l)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    yn[l] = d * (sbyte)sc[s] * q1;
                    yn[l + 32] = d * (sbyte)sc[s + 2] * q2;
                    yn[l + 64] = d * (sbyte)sc[s + 4] * q3;
                    yn[l + 96] = d * (sbyte)sc[s + 6] * q4;
                }
            }
        }
    }
}
