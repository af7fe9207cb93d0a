using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// <c>ggml_vec_dot_q6_K_q8_K</c>: a row of Q6_K weights times a row of Q8_K activations. Per block, the integer
/// Σ sc_j Σ (q - 32)·q8 over the sixteen 16-element groups (int8 scales); then sumf += (d·y.d)·isum.
/// </summary>
public static unsafe class VecDotQ6_K
{
    const int QlAt = 0, QhAt = 128, ScalesAt = 192, DAt = 208;

    /// <summary>Σ x·y over <paramref name="nb"/> blocks of Q6_K at <paramref name="x"/> and Q8_K at <paramref name="y"/>.</summary>
    public static float Dot(byte* x, byte* y, int nb, KernelIsa isa)
    {
        float sumf = 0;
        for (int i = 0; i < nb; ++i)
        {
            byte* xb = x + (long)i * BlockQ6_K.BlockBytes, yb = y + (long)i * BlockQ8_K.BlockBytes;
            var scales = (sbyte*)(xb + ScalesAt);
            int isum = isa == KernelIsa.Avx2
                ? BlockSumAvx2(xb + QlAt, xb + QhAt, yb + BlockQ8_K.QsAt, scales)
                : BlockSumScalar(xb + QlAt, xb + QhAt, yb + BlockQ8_K.QsAt, scales);
            sumf += KernelMath.F16(xb + DAt) * KernelMath.F32(yb) * isum;
        }
        return sumf;
    }

    /// <summary>Levels as <c>dequantize_row_q6_K</c> lays them out: per 128 elements, 64 ql bytes and 32 qh bytes.</summary>
    static int BlockSumScalar(byte* ql, byte* qh, byte* q8, sbyte* scales)
    {
        Span<int> a = stackalloc int[BlockQ6_K.BlockSize];
        for (int n = 0; n < BlockQ6_K.BlockSize; n += 128, ql += 64, qh += 32)
            for (int l = 0; l < 32; ++l)
            {
                a[n + l] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                a[n + l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                a[n + l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                a[n + l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            }
        var y = (sbyte*)q8;
        int isum = 0;
        for (int g = 0; g < 16; ++g)
        {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += a[16 * g + l] * y[16 * g + l];
            isum += scales[g] * s;
        }
        return isum;
    }

    /// <summary>
    /// <see cref="BlockSumScalar"/> 32 elements at a time: levels q in [0, 64) times q8, minus 32·q8 (pairs stay
    /// within 2·63·127), each 16-element half times its group's scale.
    /// </summary>
    static int BlockSumAvx2(byte* ql, byte* qh, byte* q8, sbyte* scales)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var m2 = Vector256.Create((byte)0x03);
        var m2h = Vector256.Create((byte)0x30);
        var acc = Vector256<int>.Zero;
        for (int n = 0; n < 2; ++n, ql += 64, qh += 32, q8 += 128, scales += 8)
        {
            var l0 = KernelMath.LoadBytes(ql);
            var l1 = KernelMath.LoadBytes(ql + 32);
            var h = KernelMath.LoadBytes(qh);
            acc += Group((l0 & m4) | KernelMath.ShiftLeft(h & m2, 4), q8, scales);
            acc += Group((l1 & m4) | KernelMath.ShiftLeft(KernelMath.ShiftRight(h, 2) & m2, 4), q8 + 32, scales + 2);
            acc += Group((KernelMath.ShiftRight(l0, 4) & m4) | (h & m2h), q8 + 64, scales + 4);
            acc += Group((KernelMath.ShiftRight(l1, 4) & m4) | (KernelMath.ShiftRight(h, 2) & m2h), q8 + 96, scales + 6);
        }
        return KernelMath.Sum(acc);
    }

    /// <summary>Σ (q - 32)·q8 over 32 elements, the first 16 times scales[0], the last 16 times scales[1].</summary>
    static Vector256<int> Group(Vector256<byte> q, byte* q8, sbyte* scales)
    {
        var y = KernelMath.LoadSBytes(q8);
        var p = Avx2.MultiplyAddAdjacent(q, y)
              - Avx2.MultiplyAddAdjacent(Vector256.Create((byte)32), y);
        var sc = Vector256.Create(Vector128.Create((short)scales[0]), Vector128.Create((short)scales[1]));
        return Avx2.MultiplyAddAdjacent(p, sc);
    }
}
