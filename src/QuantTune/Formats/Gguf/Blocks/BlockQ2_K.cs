namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q2_K (ggml-common.h <c>block_q2_K</c>): 256 elements in 84 bytes: 16 bytes of per-16-element scale (low
/// nibble) and min (high nibble), 64 bytes of 2-bit levels, then fp16 d and dmin; x = d * sc * q - dmin * m.
/// <see cref="QuantizeRow"/> is <c>quantize_row_q2_K_ref</c>, byte for byte.
/// </summary>
public static class BlockQ2_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 16 + 64 + 4;
    const int ScalesAt = 0, QsAt = 16, DAt = 80, DminAt = 82;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q2_K", BlockSize, BlockBytes, x.Length, y.Length);
        Span<byte> L = stackalloc byte[BlockSize];
        Span<byte> laux = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        const float q4scale = 15.0f;
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            var sc = yb.Slice(ScalesAt, 16);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 16; ++j)
            {
                var xj = xb.Slice(16 * j, 16);
                for (int l = 0; l < 16; ++l) weights[l] = MathF.Abs(xj[l]);
                scales[j] = KQuantMath.MakeQkx2Quants(3, xj, weights, L.Slice(16 * j, 16), out mins[j], laux, -0.5f, 0.1f, 15, useMad: true);
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            if (maxScale > 0)
            {
                float iscale = q4scale / maxScale;
                for (int j = 0; j < 16; ++j) sc[j] = unchecked((byte)KQuantMath.NearestInt(iscale * scales[j]));
                BlockMath.WriteF16(yb[DAt..], maxScale / q4scale);
            }
            else
            {
                sc.Clear();
                BlockMath.WriteF16(yb[DAt..], 0.0f);
            }
            if (maxMin > 0)
            {
                float iscale = q4scale / maxMin;
                for (int j = 0; j < 16; ++j) sc[j] |= unchecked((byte)(KQuantMath.NearestInt(iscale * mins[j]) << 4));
                BlockMath.WriteF16(yb[DminAt..], maxMin / q4scale);
            }
            else BlockMath.WriteF16(yb[DminAt..], 0.0f);

            float dAll = BlockMath.ReadF16(yb[DAt..]), dminAll = BlockMath.ReadF16(yb[DminAt..]);
            for (int j = 0; j < 16; ++j)
            {
                float d = dAll * (sc[j] & 0xF);
                if (d == 0) continue;
                float dm = dminAll * (sc[j] >> 4);
                for (int ii = 0; ii < 16; ++ii)
                {
                    int l = KQuantMath.NearestInt((xb[16 * j + ii] + dm) / d);
                    L[16 * j + ii] = (byte)Math.Max(0, Math.Min(3, l));
                }
            }
            KQuantMath.Pack2Bit(L, yb.Slice(QsAt, 64));
        }
    }

    /// <summary><c>dequantize_row_q2_K</c>: y = d * (sc &amp; 15) * q - dmin * (sc &gt;&gt; 4).</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q2_K", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            var yb = y.Slice(i * BlockSize, BlockSize);
            float d = BlockMath.ReadF16(xb[DAt..]), min = BlockMath.ReadF16(xb[DminAt..]);
            int o = 0, scale = 0;
            for (int n = 0; n < BlockSize; n += 128)
            {
                var q = xb.Slice(QsAt + n / 4, 32);
                for (int shift = 0; shift < 8; shift += 2)
                    for (int half = 0; half < 32; half += 16)
                    {
                        byte sc = xb[ScalesAt + scale++];
                        float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                        for (int l = 0; l < 16; ++l) yb[o++] = dl * ((q[half + l] >> shift) & 3) - ml;
                    }
            }
        }
    }
}
