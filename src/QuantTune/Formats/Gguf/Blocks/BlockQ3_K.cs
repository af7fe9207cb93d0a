using System.Runtime.InteropServices;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q3_K (ggml-common.h <c>block_q3_K</c>): 256 elements in 110 bytes: a 32-byte hmask of third bits, 64 bytes of
/// low 2-bit levels, 12 bytes of sixteen 6-bit signed scales, then fp16 d; x = d * (sc - 32) * (q - 4).
/// <see cref="QuantizeRow"/> is <c>quantize_row_q3_K_ref</c>, byte for byte.
/// </summary>
public static class BlockQ3_K
{
    public const int BlockSize = GgmlTypes.QK_K;
    public const int BlockBytes = 32 + 64 + 12 + 2;
    const int HmaskAt = 0, QsAt = 32, ScalesAt = 96, DAt = 108;

    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = BlockMath.CheckedBlocks("Q3_K", BlockSize, BlockBytes, x.Length, y.Length);
        Span<sbyte> L = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[16];
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            var sc = yb.Slice(ScalesAt, 12);
            float maxScale = 0, amax = 0;
            for (int j = 0; j < 16; ++j)
            {
                scales[j] = KQuantMath.MakeQ3Quants(4, xb.Slice(16 * j, 16), L.Slice(16 * j, 16));
                float scale = MathF.Abs(scales[j]);
                if (scale > amax) { amax = scale; maxScale = scales[j]; }
            }
            sc.Clear();
            if (maxScale != 0)
            {
                float iscale = -32.0f / maxScale;
                for (int j = 0; j < 16; ++j)
                {
                    sbyte l = unchecked((sbyte)KQuantMath.NearestInt(iscale * scales[j]));
                    l = (sbyte)(Math.Max(-32, Math.Min(31, (int)l)) + 32);
                    if (j < 8) sc[j] = (byte)(l & 0xF);
                    else sc[j - 8] |= (byte)((l & 0xF) << 4);
                    l >>= 4;
                    sc[j % 4 + 8] |= (byte)(l << (2 * (j / 4)));
                }
                BlockMath.WriteF16(yb[DAt..], 1 / iscale);
            }
            else BlockMath.WriteF16(yb[DAt..], 0.0f);

            float dAll = BlockMath.ReadF16(yb[DAt..]);
            for (int j = 0; j < 16; ++j)
            {
                float d = dAll * Scale(sc, j);
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ++ii)
                {
                    int l = KQuantMath.NearestInt(xb[16 * j + ii] / d);
                    L[16 * j + ii] = (sbyte)(Math.Max(-4, Math.Min(3, l)) + 4);
                }
            }

            // The high bit of the first 32 elements goes to bit 0 of hmask[0..31], the next 32 to bit 1, etc.
            var hmask = yb.Slice(HmaskAt, 32);
            hmask.Clear();
            for (int j = 0; j < BlockSize; ++j)
            {
                if (L[j] > 3)
                {
                    hmask[j % 32] |= (byte)(1 << (j / 32));
                    L[j] -= 4;
                }
            }
            KQuantMath.Pack2Bit(MemoryMarshal.Cast<sbyte, byte>(L), yb.Slice(QsAt, 64));
        }
    }

    /// <summary><c>dequantize_row_q3_K</c>: y = d * (sc - 32) * ((q &amp; 3) - (hmask bit ? 0 : 4)).</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = BlockMath.CheckedBlocks("Q3_K", BlockSize, BlockBytes, y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            var yb = y.Slice(i * BlockSize, BlockSize);
            var hm = xb.Slice(HmaskAt, 32);
            var sc = xb.Slice(ScalesAt, 12);
            float dAll = BlockMath.ReadF16(xb[DAt..]);
            int o = 0, scale = 0, m = 1;
            for (int n = 0; n < BlockSize; n += 128)
            {
                var q = xb.Slice(QsAt + n / 4, 32);
                for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                    for (int half = 0; half < 32; half += 16)
                    {
                        float dl = dAll * Scale(sc, scale++);
                        for (int l = half; l < half + 16; ++l)
                            yb[o++] = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
                    }
            }
        }
    }

    /// <summary>Signed 6-bit scale <paramref name="j"/> (0..15): low nibble from byte j (or the high nibble of j - 8), top 2 bits from byte 8 + j % 4, minus 32.</summary>
    static int Scale(ReadOnlySpan<byte> sc, int j)
    {
        int low = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
        return (low | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    }
}
