using System.Runtime.Intrinsics;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// <c>ggml_vec_dot_q4_K_q8_K</c>: a row of Q4_K weights times a row of Q8_K activations. Per block, the integer
/// Σ sc_j Σ q·q8 over the eight 32-element sub-blocks and Σ bsums·m; then
/// sumf += (d·y.d)·isum, sumf -= (dmin·y.d)·summs.
/// </summary>
public static unsafe class VecDotQ4_K
{
    const int ScalesAt = 4, QsAt = 16;

    /// <summary>Σ x·y over <paramref name="nb"/> blocks of Q4_K at <paramref name="x"/> and Q8_K at <paramref name="y"/>.</summary>
    public static float Dot(byte* x, byte* y, int nb, KernelIsa isa)
    {
        uint* utmp = stackalloc uint[4];
        byte* scales = (byte*)utmp, mins = scales + 8;
        float sumf = 0;
        for (int i = 0; i < nb; ++i)
        {
            byte* xb = x + (long)i * BlockQ4_K.BlockBytes, yb = y + (long)i * BlockQ8_K.BlockBytes;
            KQuantScales.UnpackScaleMin(xb + ScalesAt, utmp);
            int isum = isa == KernelIsa.Avx2 ? BlockSumAvx2(xb + QsAt, yb + BlockQ8_K.QsAt, scales) : BlockSumScalar(xb + QsAt, yb + BlockQ8_K.QsAt, scales);
            int summs = KQuantScales.MinsTimesBsums(yb, mins, isa);
            float yd = KernelMath.F32(yb);
            sumf += KernelMath.F16(xb) * yd * isum;
            sumf -= KernelMath.F16(xb + 2) * yd * summs;
        }
        return sumf;
    }

    /// <summary>Σ_j sc_j Σ_l q·q8 over the eight sub-blocks: 32 bytes per 64 elements, low nibbles first.</summary>
    static int BlockSumScalar(byte* q4, byte* q8, byte* scales)
    {
        var y = (sbyte*)q8;
        int isum = 0;
        for (int j = 0; j < 4; ++j, q4 += 32, y += 64)
        {
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; ++l)
            {
                lo += (q4[l] & 0xF) * y[l];
                hi += (q4[l] >> 4) * y[l + 32];
            }
            isum += scales[2 * j] * lo + scales[2 * j + 1] * hi;
        }
        return isum;
    }

    /// <summary><see cref="BlockSumScalar"/> 32 elements at a time; each product pair is at most 2·15·127.</summary>
    static int BlockSumAvx2(byte* q4, byte* q8, byte* scales)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var acc = Vector256<int>.Zero;
        for (int j = 0; j < 4; ++j, q4 += 32, q8 += 64)
        {
            var q = KernelMath.LoadBytes(q4);
            acc += KernelMath.ScaledDot(q & m4, KernelMath.LoadSBytes(q8), Vector256.Create((short)scales[2 * j]));
            acc += KernelMath.ScaledDot(KernelMath.ShiftRight(q, 4) & m4, KernelMath.LoadSBytes(q8 + 32), Vector256.Create((short)scales[2 * j + 1]));
        }
        return KernelMath.Sum(acc);
    }
}
