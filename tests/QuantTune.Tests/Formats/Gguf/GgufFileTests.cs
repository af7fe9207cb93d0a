using System.Text;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;

namespace QuantTune.Tests.Formats.Gguf;

public sealed class GgufFileTests() : TempFolderTest("qt-gguf-")
{
    string PathOf(string name) => Path.Combine(Dir, name);

    static InvalidFormatException Invalid(string path) =>
        Assert.IsAssignableFrom<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => GgufFile.Open(path).Dispose()));

    static readonly (string Key, GgufValue Value)[] AllKinds =
    [
        ("u8", GgufValue.Of((byte)200)),
        ("i8", GgufValue.Of((sbyte)-100)),
        ("u16", GgufValue.Of((ushort)60000)),
        ("i16", GgufValue.Of((short)-30000)),
        ("u32", GgufValue.Of(4_000_000_000u)),
        ("i32", GgufValue.Of(-2_000_000_000)),
        ("f32", GgufValue.Of(3.25f)),
        ("bool", GgufValue.Of(true)),
        ("str", GgufValue.Of("héllo ✓")),
        ("u64", GgufValue.Of(ulong.MaxValue)),
        ("i64", GgufValue.Of(long.MinValue)),
        ("f64", GgufValue.Of(Math.PI)),
        ("arr.str", GgufValue.Of(["a", "", "b c"])),
        ("arr.i32", GgufValue.Of([1, -2, 3])),
        ("arr.f32", GgufValue.Of([0.5f, -1.5f])),
        ("arr.u8", GgufValue.ArrayOf(GgufValueType.UInt8, new byte[] { 1, 2, 255 })),
        ("arr.bool", GgufValue.ArrayOf(GgufValueType.Bool, new[] { true, false })),
        ("arr.f64", GgufValue.ArrayOf(GgufValueType.Float64, new[] { 1e300, -0.0 })),
        ("arr.empty", GgufValue.ArrayOf(GgufValueType.Int64, Array.Empty<long>())),
    ];

    [Fact]
    public void WriterReaderRoundTrip()
    {
        var w = new GgufWriter();
        foreach (var (k, v) in AllKinds) w.Add(k, v);
        var rng = new Random(7);
        var a = Enumerable.Range(0, 3 * 5).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, 7).Select(i => -i * 1.5f).ToArray();
        var c = Enumerable.Range(0, 2 * 64).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        w.AddTensor("a", GgmlType.F32, [3, 5], a);
        w.AddTensor("b", GgmlType.F32, [7], b);
        w.AddTensor("c", GgmlType.Q8_0, [2, 64], c);
        w.AddTensor("d", GgmlType.F16, [2, 3], new float[] { 1, 2, 3, 4, 5, 6 });
        var path = PathOf("rt.gguf");
        w.Write(path);

        using var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(32u, f.Alignment);
        Assert.Equal(0, f.DataStart % 32);
        foreach (var (k, v) in AllKinds)
        {
            var r = f.Metadata[k];
            Assert.Equal(v.Type, r.Type);
            if (v.Type == GgufValueType.Array)
            {
                Assert.Equal(v.ElementType, r.ElementType);
                Assert.Equal(((Array)v.Value).Cast<object>(), ((Array)r.Value).Cast<object>());
            }
            else Assert.Equal(v.Value, r.Value);
        }
        Assert.Equal(["a", "b", "c", "d"], f.Tensors.Select(t => t.Name));
        Assert.All(f.Tensors, t => Assert.Equal(0, t.Offset % 32));
        Assert.Equal(new long[] { 5, 3 }, f.TensorsByName["a"].Dims);
        Assert.Equal(new long[] { 3, 5 }, f.TensorsByName["a"].Shape);
        Assert.Equal(a, f.ReadTensor("a"));
        Assert.Equal(b, f.ReadTensor("b"));
        Assert.Equal(GgmlCodec.Quantize(GgmlType.Q8_0, c), f.ReadTensorBytes("c"));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, f.ReadTensor("d"));
    }

    [Fact]
    public void HeaderBytesFollowTheSpec()
    {
        var path = PathOf("h.gguf");
        new GgufWriter().Add("k", GgufValue.Of(5u)).AddTensor("t", GgmlType.F32, [1], new float[] { 1f }).Write(path);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("GGUF"u8.ToArray(), bytes[..4]);
        Assert.Equal(3u, BitConverter.ToUInt32(bytes, 4));
        Assert.Equal(1ul, BitConverter.ToUInt64(bytes, 8));   // tensors
        Assert.Equal(2ul, BitConverter.ToUInt64(bytes, 16));  // general.alignment + k
        Assert.Equal(17ul, BitConverter.ToUInt64(bytes, 24)); // "general.alignment"
        Assert.Equal(0, (bytes.Length - 4) % 32); // the 4 data bytes start aligned
        Assert.Equal(1f, BitConverter.ToSingle(bytes, bytes.Length - 4));
    }

    /// <summary>An independent hand encoder for malformed files: one u32 KV, then the given tensor infos, then <paramref name="dataBytes"/> zeros.</summary>
    string Raw(string name, uint version = 3, string magic = "GGUF", (string Name, ulong[] Dims, uint Type, ulong Offset)[]? tensors = null,
        int dataBytes = 0, Action<BinaryWriter>? extraKv = null)
    {
        tensors ??= [];
        var path = PathOf(name);
        using var s = File.Create(path);
        using var w = new BinaryWriter(s);
        void Str(string v) { var b = Encoding.UTF8.GetBytes(v); w.Write((ulong)b.Length); w.Write(b); }
        w.Write(Encoding.ASCII.GetBytes(magic));
        w.Write(version);
        w.Write((ulong)tensors.Length);
        w.Write(extraKv is null ? 1ul : 2ul);
        Str("general.alignment"); w.Write(4u); w.Write(32u);
        extraKv?.Invoke(w);
        foreach (var t in tensors)
        {
            Str(t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (var d in t.Dims) w.Write(d);
            w.Write(t.Type);
            w.Write(t.Offset);
        }
        w.Flush();
        while (s.Position % 32 != 0) w.Write((byte)0);
        w.Write(new byte[dataBytes]);
        return path;
    }

    [Fact]
    public void HandEncodedFileIsRead()
    {
        using var f = GgufFile.Open(Raw("ok.gguf", tensors: [("t", [8], 0, 0)], dataBytes: 32));
        Assert.Equal(8, f.Tensors[0].ElementCount);
        Assert.Equal(new float[8], f.ReadTensor("t"));
    }

    [Fact]
    public void WrongMagic() => Assert.Contains("magic", Invalid(Raw("m.gguf", magic: "GGML")).Message);

    [Fact]
    public void UnsupportedVersion() => Assert.Contains("99", Invalid(Raw("v.gguf", version: 99)).Message);

    [Fact]
    public void TensorBeyondTheFile()
    {
        var e = Invalid(Raw("o.gguf", tensors: [("t", [8], 0, 64)], dataBytes: 32));
        Assert.Contains("t.offset", e.Message);
        Invalid(Raw("o2.gguf", tensors: [("t", [16], 0, 0)], dataBytes: 32));
        Invalid(Raw("o3.gguf", tensors: [("t", [8], 0, ulong.MaxValue - 31)], dataBytes: 32));
    }

    [Fact]
    public void UnknownTensorType() => Assert.Contains("999", Invalid(Raw("u.gguf", tensors: [("t", [8], 999, 0)], dataBytes: 32)).Message);

    [Fact]
    public void BadTensorGeometry()
    {
        Invalid(Raw("g1.gguf", tensors: [("t", [33], 8, 0)], dataBytes: 64));          // not whole Q8_0 blocks
        Invalid(Raw("g2.gguf", tensors: [("t", [8], 0, 4)], dataBytes: 64));           // misaligned offset
        Invalid(Raw("g3.gguf", tensors: [("t", [1, 1, 1, 1, 1], 0, 0)], dataBytes: 32)); // too many dims
        Invalid(Raw("g4.gguf", tensors: [("t", [ulong.MaxValue], 0, 0)], dataBytes: 32));
    }

    [Fact]
    public void ArrayLongerThanTheFile()
    {
        var e = Invalid(Raw("a.gguf", extraKv: w =>
        {
            w.Write(3ul); w.Write("arr"u8); w.Write(9u); w.Write(4u); w.Write(1ul << 40);
        }));
        Assert.Contains("arr.count", e.Message);
        Invalid(Raw("a2.gguf", extraKv: w => { w.Write(3ul); w.Write("str"u8); w.Write(8u); w.Write(ulong.MaxValue); }));
        Invalid(Raw("a3.gguf", extraKv: w => { w.Write(3ul); w.Write("typ"u8); w.Write(77u); w.Write(0u); }));
    }

    [Fact]
    public void EveryTruncationIsAClearError()
    {
        var path = PathOf("full.gguf");
        var w = new GgufWriter();
        foreach (var (k, v) in AllKinds) w.Add(k, v);
        w.AddTensor("a", GgmlType.F32, [2, 3], new float[] { 1, 2, 3, 4, 5, 6 });
        w.AddTensor("q", GgmlType.Q4_0, [32], new float[32]);
        w.Write(path);
        var bytes = File.ReadAllBytes(path);
        var cut = PathOf("cut.gguf");
        for (int n = 0; n < bytes.Length; n++)
        {
            File.WriteAllBytes(cut, bytes[..n]);
            var e = Invalid(cut);
            Assert.Contains(cut, e.Message);
        }
    }

    [Fact]
    public void MissingFile() => Assert.ThrowsAny<QuantTuneException>(() => GgufFile.Open(PathOf("none.gguf")));
}
