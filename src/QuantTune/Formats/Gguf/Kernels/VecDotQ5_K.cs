using System.Runtime.Intrinsics;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// <c>ggml_vec_dot_q5_K_q8_K</c>: as <see cref="VecDotQ4_K"/>, with each level's fifth bit (16) from qh: bit 2j of
/// byte l for the low nibbles of 64-element group j, bit 2j + 1 for the high nibbles.
/// </summary>
public static unsafe class VecDotQ5_K
{
    const int ScalesAt = 4, QhAt = 16, QsAt = 48;

    /// <summary>Σ x·y over <paramref name="nb"/> blocks of Q5_K at <paramref name="x"/> and Q8_K at <paramref name="y"/>.</summary>
    public static float Dot(byte* x, byte* y, int nb, KernelIsa isa)
    {
        uint* utmp = stackalloc uint[4];
        byte* scales = (byte*)utmp, mins = scales + 8;
        float sumf = 0;
        for (int i = 0; i < nb; ++i)
        {
            byte* xb = x + (long)i * BlockQ5_K.BlockBytes, yb = y + (long)i * BlockQ8_K.BlockBytes;
            KQuantScales.UnpackScaleMin(xb + ScalesAt, utmp);
            int isum = isa == KernelIsa.Avx2
                ? BlockSumAvx2(xb + QsAt, xb + QhAt, yb + BlockQ8_K.QsAt, scales)
                : BlockSumScalar(xb + QsAt, xb + QhAt, yb + BlockQ8_K.QsAt, scales);
            int summs = KQuantScales.MinsTimesBsums(yb, mins, isa);
            float yd = KernelMath.F32(yb);
            sumf += KernelMath.F16(xb) * yd * isum;
            sumf -= KernelMath.F16(xb + 2) * yd * summs;
        }
        return sumf;
    }

    static int BlockSumScalar(byte* q4, byte* qh, byte* q8, byte* scales)
    {
        var y = (sbyte*)q8;
        int isum = 0;
        for (int j = 0; j < 4; ++j, q4 += 32, y += 64)
        {
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; ++l)
            {
                lo += ((q4[l] & 0xF) | (((qh[l] >> (2 * j)) & 1) << 4)) * y[l];
                hi += ((q4[l] >> 4) | (((qh[l] >> (2 * j + 1)) & 1) << 4)) * y[l + 32];
            }
            isum += scales[2 * j] * lo + scales[2 * j + 1] * hi;
        }
        return isum;
    }

    /// <summary><see cref="BlockSumScalar"/> 32 elements at a time; each product pair is at most 2·31·127.</summary>
    static int BlockSumAvx2(byte* q4, byte* qh, byte* q8, byte* scales)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var m1 = Vector256.Create((byte)0x01);
        var h = KernelMath.LoadBytes(qh);
        var acc = Vector256<int>.Zero;
        for (int j = 0; j < 4; ++j, q4 += 32, q8 += 64, h = KernelMath.ShiftRight(h, 2))
        {
            var q = KernelMath.LoadBytes(q4);
            var lo = (q & m4) | KernelMath.ShiftLeft(h & m1, 4);
            var hi = (KernelMath.ShiftRight(q, 4) & m4) | KernelMath.ShiftLeft(KernelMath.ShiftRight(h, 1) & m1, 4);
            acc += KernelMath.ScaledDot(lo, KernelMath.LoadSBytes(q8), Vector256.Create((short)scales[2 * j]));
            acc += KernelMath.ScaledDot(hi, KernelMath.LoadSBytes(q8 + 32), Vector256.Create((short)scales[2 * j + 1]));
        }
        return KernelMath.Sum(acc);
    }
}
