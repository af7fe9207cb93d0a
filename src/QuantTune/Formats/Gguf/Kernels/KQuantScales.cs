using System.Buffers.Binary;
using QuantTune.Formats.Gguf.Blocks;

namespace QuantTune.Formats.Gguf.Kernels;

/// <summary>The per-block scalar steps the k-quant dot products share, as ggml's generic versions take them.</summary>
static class KQuantScales
{
    /// <summary>The eight 6-bit scales and mins of a Q4_K/Q5_K block (the <c>utmp</c> unpacking of <c>vec_dot_q4_K_q8_K</c>).</summary>
    public static void UnpackScaleMin(ReadOnlySpan<byte> scales12, Span<byte> scales, Span<byte> mins)
    {
        for (int j = 0; j < 8; ++j) (scales[j], mins[j]) = KQuantMath.GetScaleMinK4(j, scales12);
    }

    /// <summary>Σ bsums[j] * mins[j / 2]: the integer part of the mins' term, from the Q8_K block's sixteen sums.</summary>
    public static int MinsTimesBsums(ReadOnlySpan<byte> q8Block, ReadOnlySpan<byte> mins)
    {
        int sumi = 0;
        for (int j = 0; j < BlockQ8_K.BlockSize / 16; ++j)
            sumi += BinaryPrimitives.ReadInt16LittleEndian(q8Block[(BlockQ8_K.BsumsAt + 2 * j)..]) * mins[j / 2];
        return sumi;
    }

    /// <summary>The Q8_K block's float32 d.</summary>
    public static float Q8Scale(ReadOnlySpan<byte> q8Block) => BinaryPrimitives.ReadSingleLittleEndian(q8Block);
}
