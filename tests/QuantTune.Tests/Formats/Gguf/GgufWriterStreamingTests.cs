using QuantTune.Formats.Gguf;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// <see cref="GgufWriter"/> with tensors added as encoders: the header is written from each tensor's type and shape,
/// then each tensor is encoded at its turn and let go once written, into the same bytes as tensors added encoded.
/// </summary>
public sealed class GgufWriterStreamingTests() : TempFolderTest("qt-gguf-stream-")
{
    static readonly (string Name, GgmlType Type, long[] Shape)[] Tensors =
        [("a", GgmlType.F32, [3, 5]), ("q", GgmlType.Q8_0, [4, 64]), ("k", GgmlType.Q4_K, [2, 256]), ("b", GgmlType.F16, [7])];

    static float[] Values(int seed, long[] shape)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, (int)shape.Aggregate(1L, (a, d) => a * d)).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
    }

    [Fact]
    public void EncodersRunAtTheirTurnInWriteAndGiveTheBytesOfEagerTensors()
    {
        var eager = new GgufWriter().Add("k", GgufValue.Of(5u));
        var streamed = new GgufWriter().Add("k", GgufValue.Of(5u));
        var calls = new List<string>();
        for (int i = 0; i < Tensors.Length; i++)
        {
            var (name, type, shape) = Tensors[i];
            float[] values = Values(i, shape);
            eager.AddTensor(name, type, shape, values);
            streamed.AddTensor(name, type, shape, () =>
            {
                calls.Add(name);
                return GgmlCodec.Quantize(type, values);
            });
        }
        Assert.Empty(calls);
        eager.Write(Path.Combine(Dir, "eager.gguf"));
        streamed.Write(Path.Combine(Dir, "streamed.gguf"));
        Assert.Equal(Tensors.Select(t => t.Name), calls);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Dir, "eager.gguf")), File.ReadAllBytes(Path.Combine(Dir, "streamed.gguf")));
    }

    [Fact]
    public void ATensorsBytesAreLetGoOnceWritten()
    {
        var w = new GgufWriter();
        var written = new List<WeakReference<byte[]>>();
        var previousAlive = new List<bool>();
        foreach (var (name, type, shape) in Tensors)
            w.AddTensor(name, type, shape, () =>
            {
                if (written.Count > 0)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    previousAlive.Add(written[^1].TryGetTarget(out _));
                }
                byte[] data = GgmlCodec.Quantize(type, Values(written.Count, shape));
                written.Add(new WeakReference<byte[]>(data));
                return data;
            });
        w.Write(Path.Combine(Dir, "t.gguf"));
        Assert.Equal(Enumerable.Repeat(false, Tensors.Length - 1), previousAlive);
    }

    [Fact]
    public void AnEncoderThatDisagreesWithTheHeaderFailsNamingTheTensorAndLeavesNoFile()
    {
        var w = new GgufWriter();
        w.AddTensor("a", GgmlType.F32, [4], new float[4]);
        w.AddTensor("q", GgmlType.Q8_0, [64], () => new byte[10]);
        string path = Path.Combine(Dir, "bad.gguf");
        var e = Assert.Throws<InvalidOperationException>(() => w.Write(path));
        Assert.Contains("q:", e.Message);
        Assert.Contains("68", e.Message);
        Assert.False(File.Exists(path));
    }
}
