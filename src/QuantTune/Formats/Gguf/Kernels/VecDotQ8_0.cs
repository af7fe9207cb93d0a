using System.Runtime.Intrinsics;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>
/// <c>ggml_vec_dot_q8_0_q8_0</c>: a row of Q8_0 weights times a row of Q8_0 activations; per 32-element block,
/// sumf += sumi·(d_x·d_y).
/// </summary>
public static unsafe class VecDotQ8_0
{
    /// <summary>Σ x·y over <paramref name="nb"/> Q8_0 blocks at <paramref name="x"/> and <paramref name="y"/> (y never holds -128, as <c>quantize_row_q8_0_ref</c> writes it).</summary>
    public static float Dot(byte* x, byte* y, int nb, KernelIsa isa)
    {
        float sumf = 0;
        for (int i = 0; i < nb; ++i)
        {
            byte* xb = x + (long)i * BlockQ8_0.BlockBytes, yb = y + (long)i * BlockQ8_0.BlockBytes;
            int sumi = isa == KernelIsa.Avx2
                ? KernelMath.Sum(KernelMath.SignedDot(KernelMath.LoadSBytes(xb + 2), KernelMath.LoadSBytes(yb + 2)))
                : BlockSumScalar((sbyte*)(xb + 2), (sbyte*)(yb + 2));
            sumf += sumi * (KernelMath.F16(xb) * KernelMath.F16(yb));
        }
        return sumf;
    }

    static int BlockSumScalar(sbyte* x, sbyte* y)
    {
        int sumi = 0;
        for (int j = 0; j < BlockQ8_0.BlockSize; ++j) sumi += x[j] * y[j];
        return sumi;
    }
}
