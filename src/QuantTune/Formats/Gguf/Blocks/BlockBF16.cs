using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// BF16: the top 16 bits of an IEEE single, little-endian. <see cref="QuantizeRow"/> is
/// <c>ggml_fp32_to_bf16_row_ref</c> (<c>ggml_compute_fp32_to_bf16</c>): round to nearest even by adding
/// 0x7FFF plus the lowest kept bit, NaNs forced quiet, subnormals kept.
/// </summary>
public static class BlockBF16
{
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        BlockMath.CheckedBlocks("BF16", 1, 2, x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(y[(2 * i)..], FromSingle(x[i]));
    }

    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        BlockMath.CheckedBlocks("BF16", 1, 2, y.Length, x.Length);
        for (int i = 0; i < y.Length; i++) y[i] = ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(x[(2 * i)..]));
    }

    /// <summary><c>ggml_compute_fp32_to_bf16</c>.</summary>
    public static ushort FromSingle(float s)
    {
        uint u = BitConverter.SingleToUInt32Bits(s);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    /// <summary><c>ggml_compute_bf16_to_fp32</c>.</summary>
    public static float ToSingle(ushort h) => BitConverter.UInt32BitsToSingle((uint)h << 16);
}
