using System.Runtime.InteropServices;

namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>F32: IEEE single precision, little-endian, stored as is.</summary>
public static class BlockF32
{
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> y)
    {
        if (y.Length != x.Length * 4) throw new ArgumentException($"{x.Length} F32 values take {x.Length * 4} bytes, not {y.Length}");
        MemoryMarshal.AsBytes(x).CopyTo(y);
    }

    public static void DequantizeRow(ReadOnlySpan<byte> x, Span<float> y)
    {
        if (x.Length != y.Length * 4) throw new ArgumentException($"{y.Length} F32 values take {y.Length * 4} bytes, not {x.Length}");
        x.CopyTo(MemoryMarshal.AsBytes(y));
    }
}
