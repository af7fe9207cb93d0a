using System.Runtime.InteropServices;
using QuantTune.Formats.Gguf;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>Our codecs against llama.cpp's reference quantizers, compiled from ggml-quants.c (tests/fixtures/ggml-reference).</summary>
public sealed class GgmlReferenceTests() : TempFolderTest("qt-ggml-ref-")
{
    const int Rows = GgmlReference.Rows, Cols = GgmlReference.Cols;

    public static TheoryData<GgmlType> Types() => GgmlReference.Types();

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeMatchesLlamaCppBytes(GgmlType type)
    {
        var x = GgmlReference.Input();
        var (expected, _) = GgmlReference.Expected(type);
        int rowBytes = expected.Length / Rows;
        for (int r = 0; r < Rows; r++)
        {
            var want = expected.AsSpan(r * rowBytes, rowBytes).ToArray();
            var got = GgmlCodec.Quantize(type, x.AsSpan(r * Cols, Cols));
            int at = Enumerable.Range(0, rowBytes).FirstOrDefault(i => want[i] != got[i], -1);
            Assert.True(at < 0, $"{type} row {r} ({GgmlReference.RowNames[r]}): byte {at} of block {at / type.BlockBytes()} is {got[Math.Max(at, 0)]:X2}, llama.cpp wrote {want[Math.Max(at, 0)]:X2}");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void DequantizeMatchesLlamaCppFloats(GgmlType type)
    {
        var (bytes, expected) = GgmlReference.Expected(type);
        var got = GgmlCodec.Dequantize(type, bytes, Rows * Cols);
        // Bit for bit: -0 and +0 differ here, as they would in the C output.
        Assert.Equal(MemoryMarshal.Cast<float, int>(expected).ToArray(), MemoryMarshal.Cast<float, int>(got).ToArray());
    }

    [Fact]
    public void GgufFileWithEveryTypeReadsBackTheReferenceValues()
    {
        var x = GgmlReference.Input();
        var w = new GgufWriter();
        foreach (var type in Enum.GetValues<GgmlType>())
            w.AddTensor(type.ToString(), type, [Rows, Cols], x);
        var path = Path.Combine(Dir, "all-types.gguf");
        w.Write(path);

        using var f = GgufFile.Open(path);
        Assert.Equal(Enum.GetValues<GgmlType>().Length, f.Tensors.Count);
        Assert.Equal(x, f.ReadTensor(nameof(GgmlType.F32)));
        foreach (var type in Enum.GetValues<GgmlType>().Where(t => t != GgmlType.F32))
        {
            var (bytes, values) = GgmlReference.Expected(type);
            var info = f.TensorsByName[type.ToString()];
            Assert.Equal(type, info.Type);
            Assert.Equal(new long[] { Rows, Cols }, info.Shape);
            Assert.Equal(bytes, f.ReadTensorBytes(type.ToString()));
            Assert.Equal(values, f.ReadTensor(type.ToString()));
        }
    }
}
