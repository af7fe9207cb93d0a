using System.IO.Compression;
using System.Runtime.InteropServices;
using QuantTune.Formats.Gguf;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// tests/fixtures/ggml-reference: inputs and llama.cpp's own quantized bytes and dequantized floats for every
/// <see cref="GgmlType"/> but F32, made by compiling ggml-quants.c's reference functions (see the README there).
/// </summary>
internal static class GgmlReference
{
    public const int Rows = 7, Cols = 512;

    /// <summary>What each fixture row holds (main.c of the harness, in order).</summary>
    public static readonly string[] RowNames =
        ["gaussian", "gaussian+outliers", "zeros", "tiny (1e-6)", "all-equal", "all-positive", "half-integer grid"];

    static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "ggml-reference");

    static byte[] Gunzip(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(Dir, name)), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The float32 input, <see cref="Rows"/> rows of <see cref="Cols"/> values.</summary>
    public static float[] Input()
    {
        var x = MemoryMarshal.Cast<byte, float>(Gunzip("input.f32.gz")).ToArray();
        Assert.Equal(Rows * Cols, x.Length);
        return x;
    }

    /// <summary>The reference encoding of <see cref="Input"/> as <paramref name="type"/> (row after row) and its reference dequantization.</summary>
    public static (byte[] Bytes, float[] Values) Expected(GgmlType type)
    {
        var all = Gunzip($"{type.ToString().ToLowerInvariant()}.gz");
        int bytes = checked((int)type.ByteCount(Rows * Cols)!.Value);
        Assert.Equal(bytes + Rows * Cols * sizeof(float), all.Length);
        return (all[..bytes], MemoryMarshal.Cast<byte, float>(all.AsSpan(bytes)).ToArray());
    }

    /// <summary>Every type with a fixture: all of <see cref="GgmlType"/> except F32 (stored as is).</summary>
    public static TheoryData<GgmlType> Types()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var t in Enum.GetValues<GgmlType>())
            if (t != GgmlType.F32) data.Add(t);
        return data;
    }
}
