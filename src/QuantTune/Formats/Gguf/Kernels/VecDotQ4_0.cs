using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// <c>ggml_vec_dot_q4_0_q8_0</c>: a row of Q4_0 weights times a row of Q8_0 activations; per 32-element block,
/// sumi = Σ (q - 8)·q8 (low nibbles elements 0-15, high nibbles 16-31), sumf += sumi·d_x·d_y.
/// </summary>
public static unsafe class VecDotQ4_0
{
    /// <summary>Σ x·y over <paramref name="nb"/> blocks of Q4_0 at <paramref name="x"/> and Q8_0 at <paramref name="y"/>.</summary>
    public static float Dot(byte* x, byte* y, int nb, KernelIsa isa)
    {
        float sumf = 0;
        for (int i = 0; i < nb; ++i)
        {
            byte* xb = x + (long)i * BlockQ4_0.BlockBytes, yb = y + (long)i * BlockQ8_0.BlockBytes;
            int sumi = isa == KernelIsa.Avx2 ? BlockSumAvx2(xb + 2, yb + 2) : BlockSumScalar(xb + 2, (sbyte*)(yb + 2));
            sumf += sumi * KernelMath.F16(xb) * KernelMath.F16(yb);
        }
        return sumf;
    }

    static int BlockSumScalar(byte* qs, sbyte* y)
    {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < BlockQ4_0.BlockSize / 2; ++j)
        {
            sumi0 += ((qs[j] & 0x0F) - 8) * y[j];
            sumi1 += ((qs[j] >> 4) - 8) * y[j + BlockQ4_0.BlockSize / 2];
        }
        return sumi0 + sumi1;
    }

    /// <summary>The 16 bytes unpacked to 32 levels (low nibbles, then high), minus 8, then a signed dot.</summary>
    static int BlockSumAvx2(byte* qs, byte* y)
    {
        var raw = Sse2.LoadVector128(qs);
        var m4 = Vector128.Create((byte)0x0F);
        var levels = Vector256.Create(raw & m4, Sse2.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & m4).AsSByte()
                     - Vector256.Create((sbyte)8);
        return KernelMath.Sum(KernelMath.SignedDot(levels, KernelMath.LoadSBytes(y)));
    }
}
