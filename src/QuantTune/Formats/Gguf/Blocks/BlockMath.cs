using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Scalar steps every block format shares, each stated as ggml-quants.c computes it: the fp16 fields
/// (<c>GGML_FP32_TO_FP16</c> rounds to nearest even, as <see cref="Half"/> does), C's float-to-small-int
/// casts, and the row/byte count check.
/// </summary>
static class BlockMath
{
    /// <summary>Reads the little-endian fp16 at the start of <paramref name="b"/> (<c>GGML_FP16_TO_FP32</c>).</summary>
    public static float ReadF16(ReadOnlySpan<byte> b) => (float)BinaryPrimitives.ReadHalfLittleEndian(b);

    /// <summary>Writes <paramref name="v"/> as little-endian fp16, rounded to nearest even (<c>GGML_FP32_TO_FP16</c>).</summary>
    public static void WriteF16(Span<byte> b, float v) => BinaryPrimitives.WriteHalfLittleEndian(b, (Half)v);

    /// <summary>C's <c>(int8_t)f</c> for in-range values: truncation toward zero.</summary>
    public static int TruncateToInt8(float f) => unchecked((sbyte)(int)MathF.Truncate(f));

    /// <summary>C's <c>lroundf</c>: nearest integer, halves away from zero.</summary>
    public static int RoundAway(float f) => (int)MathF.Round(f, MidpointRounding.AwayFromZero);

    /// <summary>The element of largest magnitude, with its sign (the first one on ties), as <c>quantize_row_q4_0_ref</c> finds it.</summary>
    public static float SignedAbsMax(ReadOnlySpan<float> x)
    {
        float amax = 0.0f, max = 0.0f;
        foreach (float v in x)
            if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
        return max;
    }

    /// <summary>Largest magnitude, <c>amax = MAX(amax, fabsf(v))</c>.</summary>
    public static float AbsMax(ReadOnlySpan<float> x)
    {
        float amax = 0.0f;
        foreach (float v in x) amax = amax > MathF.Abs(v) ? amax : MathF.Abs(v);
        return amax;
    }

    /// <summary>
    /// The Q4_0/Q5_0 scale: d = max / <paramref name="divisor"/> (max the signed largest-magnitude element),
    /// written as fp16 to <paramref name="d16"/>; returns 1 / d, or 0 when d is 0.
    /// </summary>
    public static float WriteSignedScale(ReadOnlySpan<float> x, Span<byte> d16, int divisor)
    {
        float d = SignedAbsMax(x) / divisor;
        WriteF16(d16, d);
        return d != 0 ? 1.0f / d : 0.0f;
    }

    /// <summary>
    /// The Q4_1/Q5_1 scale and offset: d = (max - min) / <paramref name="levels"/> and m = min, written as fp16 to
    /// <paramref name="dm"/> (d then m); returns 1 / d, or 0 when d is 0.
    /// </summary>
    public static float WriteScaleMin(ReadOnlySpan<float> x, Span<byte> dm, int levels, out float min)
    {
        (min, float max) = MinMax(x);
        float d = (max - min) / levels;
        WriteF16(dm, d);
        WriteF16(dm[2..], min);
        return d != 0 ? 1.0f / d : 0.0f;
    }

    /// <summary>The TQ1_0/TQ2_0 scale: d = amax written as fp16 to <paramref name="d16"/>; returns 1 / d, or 0 when d is 0.</summary>
    public static float WriteAbsMaxScale(ReadOnlySpan<float> x, Span<byte> d16)
    {
        float d = AbsMax(x);
        WriteF16(d16, d);
        return d != 0 ? 1.0f / d : 0.0f;
    }

    /// <summary>Minimum and maximum, starting from <c>FLT_MAX</c> / <c>-FLT_MAX</c> as <c>quantize_row_q4_1_ref</c> does.</summary>
    public static (float Min, float Max) MinMax(ReadOnlySpan<float> x)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        foreach (float v in x)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }

    /// <summary>The 5-bit levels of Q5_0/Q5_1 byte <paramref name="j"/>: its two nibbles plus bits j and j + 16 of <paramref name="qh"/>.</summary>
    public static (int Q0, int Q1) Q5Levels(byte qs, uint qh, int j) =>
        ((qs & 0x0F) | (int)(((qh >> j) << 4) & 0x10), (qs >> 4) | (int)((qh >> (j + 12)) & 0x10));

    /// <summary>Blocks in a row of <paramref name="elements"/> values stored in <paramref name="bytes"/> bytes; throws when they do not fit the format.</summary>
    public static int CheckedBlocks(string format, int blockSize, int blockBytes, int elements, int bytes)
    {
        if (elements % blockSize != 0)
            throw new ArgumentException($"{format} rows hold a multiple of {blockSize} values, not {elements}");
        int nb = elements / blockSize;
        if (bytes != nb * blockBytes)
            throw new ArgumentException($"{nb} {format} blocks take {nb * blockBytes} bytes, not {bytes}");
        return nb;
    }
}
