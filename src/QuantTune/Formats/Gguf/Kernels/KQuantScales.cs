using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>The per-block integer steps the Q4_K/Q5_K dot products share, as ggml's generic versions take them.</summary>
static unsafe class KQuantScales
{
    const uint Kmask1 = 0x3f3f3f3f, Kmask2 = 0x0f0f0f0f, Kmask3 = 0x03030303;

    /// <summary>
    /// The eight 6-bit scales (bytes 0-7 of <paramref name="utmp"/>) and mins (bytes 8-15) of a Q4_K/Q5_K block from its 12
    /// packed bytes: the <c>utmp</c> unpacking of <c>ggml_vec_dot_q4_K_q8_K</c>, the same values as <see cref="KQuantMath.GetScaleMinK4"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void UnpackScaleMin(byte* scales12, uint* utmp)
    {
        uint u0 = Unsafe.ReadUnaligned<uint>(scales12), u1 = Unsafe.ReadUnaligned<uint>(scales12 + 4), u2 = Unsafe.ReadUnaligned<uint>(scales12 + 8);
        utmp[3] = ((u2 >> 4) & Kmask2) | (((u1 >> 6) & Kmask3) << 4);
        utmp[2] = u1 & Kmask1;
        utmp[1] = (u2 & Kmask2) | (((u0 >> 6) & Kmask3) << 4);
        utmp[0] = u0 & Kmask1;
    }

    /// <summary>Σ bsums[j] * mins[j / 2]: the integer part of the mins' term, from the Q8_K block's sixteen sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MinsTimesBsums(byte* q8Block, byte* mins, KernelIsa isa)
    {
        var bsums = (short*)(q8Block + BlockQ8_K.BsumsAt);
        if (isa == KernelIsa.Avx2)
        {
            // Each min twice (for its two 16-element sums), times the sums pairwise into int32: exact.
            var m = Avx2.ConvertToVector256Int16(Sse2.UnpackLow(Vector128.CreateScalar(*(ulong*)mins).AsByte(), Vector128.CreateScalar(*(ulong*)mins).AsByte()));
            return Vector256.Sum(Avx2.MultiplyAddAdjacent(Avx.LoadVector256(bsums), m));
        }
        int sumi = 0;
        for (int j = 0; j < BlockQ8_K.BlockSize / 16; ++j) sumi += bsums[j] * mins[j / 2];
        return sumi;
    }
}
