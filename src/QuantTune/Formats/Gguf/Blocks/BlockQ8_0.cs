using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// Q8_0 (ggml-common.h <c>block_q8_0</c>): 32 elements in 34 bytes, an fp16 scale d = amax / 127 then
/// 32 int8 q = roundf(x / d). <see cref="QuantizeRow"/> is <c>quantize_row_q8_0_ref</c>, byte for byte.
/// </summary>
public static class BlockQ8_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 2 + BlockSize;

    /// <summary><c>quantize_row_q8_0_ref</c>: <paramref name="x"/> (a multiple of 32 values) into <paramref name="y"/>.</summary>
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        int nb = CheckedBlocks(x.Length, y.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockSize, BlockSize);
            var yb = y.Slice(i * BlockBytes, BlockBytes);
            float amax = 0.0f;
            for (int j = 0; j < BlockSize; j++) amax = MathF.Max(amax, MathF.Abs(xb[j]));
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            BinaryPrimitives.WriteHalfLittleEndian(yb, (Half)d);
            for (int j = 0; j < BlockSize; j++)
                yb[2 + j] = unchecked((byte)(sbyte)MathF.Round(xb[j] * id, MidpointRounding.AwayFromZero));
        }
    }

    /// <summary><c>dequantize_row_q8_0</c>: y = q * d.</summary>
    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        int nb = CheckedBlocks(y.Length, x.Length);
        for (int i = 0; i < nb; i++)
        {
            var xb = x.Slice(i * BlockBytes, BlockBytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(xb);
            for (int j = 0; j < BlockSize; j++) y[i * BlockSize + j] = (sbyte)xb[2 + j] * d;
        }
    }

    static int CheckedBlocks(int elements, int bytes)
    {
        if (elements % BlockSize != 0)
            throw new ArgumentException($"Q8_0 rows hold a multiple of {BlockSize} values, not {elements}");
        int nb = elements / BlockSize;
        if (bytes != nb * BlockBytes)
            throw new ArgumentException($"{nb} Q8_0 blocks take {nb * BlockBytes} bytes, not {bytes}");
        return nb;
    }
}
