using System.Buffers.Binary;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>F16: IEEE half precision, little-endian, rounded to nearest even (<c>GGML_FP32_TO_FP16</c>).</summary>
public static class BlockF16
{
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        if (y.Length != x.Length * 2) throw new ArgumentException($"{x.Length} F16 values take {x.Length * 2} bytes, not {y.Length}");
        for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(y[(2 * i)..], (Half)x[i]);
    }

    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        if (x.Length != y.Length * 2) throw new ArgumentException($"{y.Length} F16 values take {y.Length * 2} bytes, not {x.Length}");
        for (int i = 0; i < y.Length; i++) y[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(x[(2 * i)..]);
    }
}
