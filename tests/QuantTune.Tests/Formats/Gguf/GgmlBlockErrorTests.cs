using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Blocks;
using Xunit.Abstractions;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>Round-trip error of every block type, the parallel codec against the sequential one, and BF16 rounding by hand.</summary>
public sealed class GgmlBlockErrorTests(ITestOutputHelper output)
{
    /// <summary>
    /// Upper bounds on RMSE / RMS(x) for unit Gaussian data. F16/BF16: half an ulp relative, 2^-11 and 2^-8.
    /// Block quants: a uniform grid of step D has RMSE D / sqrt(12); over the ~4.2 sigma range of 32 Gaussians
    /// that is about 0.005 (Q8_0, 254 steps), 0.038 (5-bit, 31 steps), 0.080 (4-bit, 15 steps). The k-quants share
    /// 6-bit scales across 16/32-element groups and fit them by least squares; their bounds are the published
    /// ordering Q6_K &lt; Q5_K &lt; Q4_K &lt; Q3_K &lt; Q2_K with about 15% over the values llama.cpp's own
    /// reference reaches on the Gaussian fixture row. Ternary types keep only sign and zero: about 0.79.
    /// </summary>
    static readonly Dictionary<GgmlType, double> RelRmseBound = new()
    {
        [GgmlType.F16] = 1.0 / 2048,
        [GgmlType.BF16] = 1.0 / 256,
        [GgmlType.Q8_0] = 0.0065,
        [GgmlType.Q5_1] = 0.045,
        [GgmlType.Q5_0] = 0.048,
        [GgmlType.Q4_1] = 0.090,
        [GgmlType.Q4_0] = 0.100,
        [GgmlType.Q6_K] = 0.021,
        [GgmlType.Q5_K] = 0.042,
        [GgmlType.Q4_K] = 0.083,
        [GgmlType.Q3_K] = 0.175,
        [GgmlType.Q2_K] = 0.34,
        [GgmlType.TQ2_0] = 0.85,
        [GgmlType.TQ1_0] = 0.85,
    };

    static float[] Gaussian(int seed, int n)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return x;
    }

    static double RelRmse(float[] x, float[] y)
    {
        double se = 0, sx = 0;
        for (int i = 0; i < x.Length; i++) { se += (double)(y[i] - x[i]) * (y[i] - x[i]); sx += (double)x[i] * x[i]; }
        return Math.Sqrt(se / sx);
    }

    static double RoundTrip(GgmlType type, float[] x) =>
        RelRmse(x, GgmlCodec.Dequantize(type, GgmlCodec.Quantize(type, x), x.Length));

    [Fact]
    public void EveryTypeHasACodecAndABound()
    {
        foreach (var type in Enum.GetValues<GgmlType>())
        {
            var y = GgmlCodec.Dequantize(type, GgmlCodec.Quantize(type, new float[GgmlTypes.QK_K]), GgmlTypes.QK_K);
            Assert.All(y, v => Assert.Equal(0f, v));
            Assert.True(type == GgmlType.F32 || RelRmseBound.ContainsKey(type), $"{type} has no error bound");
        }
    }

    [Fact]
    public void GaussianRoundTripWithinEachTypesBoundAndInBitOrder()
    {
        var x = Gaussian(11, 32 * GgmlTypes.QK_K);
        var fixtureRow = GgmlReference.Input()[..GgmlReference.Cols];
        var rmse = new Dictionary<GgmlType, double>();
        foreach (var (type, bound) in RelRmseBound)
        {
            rmse[type] = RoundTrip(type, x);
            double onFixture = RoundTrip(type, fixtureRow);
            output.WriteLine($"{type,-6} {GgmlBits(type),7:F4} bpw  relative RMSE {rmse[type]:F5} (8192 Gaussians), {onFixture:F5} (Gaussian fixture row)");
            Assert.True(rmse[type] < bound, $"{type}: relative RMSE {rmse[type]:F4} is over {bound}");
            Assert.True(onFixture < bound, $"{type}: relative RMSE {onFixture:F4} on the fixture row is over {bound}");
        }
        Assert.Equal(0.0, RoundTrip(GgmlType.F32, x));
        GgmlType[] kOrder = [GgmlType.Q6_K, GgmlType.Q5_K, GgmlType.Q4_K, GgmlType.Q3_K, GgmlType.Q2_K];
        GgmlType[] legacyOrder = [GgmlType.Q8_0, GgmlType.Q5_1, GgmlType.Q5_0, GgmlType.Q4_1, GgmlType.Q4_0];
        foreach (var order in new[] { kOrder, legacyOrder })
            for (int i = 1; i < order.Length; i++)
                Assert.True(rmse[order[i - 1]] < rmse[order[i]], $"{order[i - 1]} ({rmse[order[i - 1]]:F4}) should beat {order[i]} ({rmse[order[i]]:F4})");
        Assert.True(rmse[GgmlType.F16] < rmse[GgmlType.BF16] && rmse[GgmlType.BF16] < rmse[GgmlType.Q8_0]);
    }

    static double GgmlBits(GgmlType type) => 8.0 * type.BlockBytes() / type.BlockSize();

    [Fact]
    public void TernaryTypesStoreTheSameTrits()
    {
        // TQ1_0 and TQ2_0 both keep round(x / amax) with d = amax; only the packing differs.
        var x = Gaussian(12, 4 * GgmlTypes.QK_K);
        for (int i = 0; i < x.Length; i += 7) x[i] = 0;
        Assert.Equal(GgmlCodec.Dequantize(GgmlType.TQ2_0, GgmlCodec.Quantize(GgmlType.TQ2_0, x), x.Length),
                     GgmlCodec.Dequantize(GgmlType.TQ1_0, GgmlCodec.Quantize(GgmlType.TQ1_0, x), x.Length));
    }

    [Fact]
    public void ParallelChunksEqualTheSequentialPass()
    {
        // Two full chunks and a partial one; the sequential reference quantizes piece by piece below the chunk size.
        int n = 2 * GgmlCodec.ChunkElements + 3 * GgmlTypes.QK_K, piece = GgmlCodec.ChunkElements / 4;
        var x = Gaussian(13, n);
        foreach (var type in Enum.GetValues<GgmlType>())
        {
            var whole = GgmlCodec.Quantize(type, x);
            var pieces = new List<byte>();
            for (int s = 0; s < n; s += piece)
                pieces.AddRange(GgmlCodec.Quantize(type, x.AsSpan(s, Math.Min(piece, n - s))));
            Assert.Equal(pieces.ToArray(), whole);

            var back = GgmlCodec.Dequantize(type, whole, n);
            int pieceBytes = (int)type.ByteCount(piece)!.Value;
            var seq = new List<float>();
            for (int s = 0, b = 0; s < n; s += piece, b += pieceBytes)
            {
                int count = Math.Min(piece, n - s);
                seq.AddRange(GgmlCodec.Dequantize(type, whole.AsSpan(b, (int)type.ByteCount(count)!.Value), count));
            }
            Assert.Equal(seq.ToArray(), back);
        }
    }

    [Fact]
    public void DequantizeRejectsAWrongByteCount()
    {
        Assert.Throws<ArgumentException>(() => GgmlCodec.Dequantize(GgmlType.Q4_K, new byte[143], 256));
        Assert.Throws<ArgumentException>(() => GgmlCodec.Dequantize(GgmlType.Q5_0, new byte[22], 33));
        Assert.Throws<ArgumentException>(() => GgmlCodec.Quantize(GgmlType.TQ1_0, new float[255]));
    }

    [Fact]
    public void Bf16RoundsToNearestEvenAndKeepsNaNQuiet()
    {
        static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);
        Assert.Equal(0x3F80, BlockBF16.FromSingle(F(0x3F808000)));  // tie, even below: down
        Assert.Equal(0x3F82, BlockBF16.FromSingle(F(0x3F818000)));  // tie, odd below: up
        Assert.Equal(0x3F81, BlockBF16.FromSingle(F(0x3F808001)));  // just over the tie: up
        Assert.Equal(0x7F80, BlockBF16.FromSingle(float.PositiveInfinity));
        Assert.Equal(0x7F80, BlockBF16.FromSingle(F(0x7F7FFFFF)));  // float max rounds to infinity
        Assert.Equal(0x0001, BlockBF16.FromSingle(F(0x00010000)));  // subnormals are kept, not flushed
        Assert.Equal(0x7FC0, BlockBF16.FromSingle(F(0x7F800001)));  // signalling NaN comes back quiet
        Assert.Equal(0x8000, BlockBF16.FromSingle(-0.0f));
        Assert.Equal(1.0078125f, BlockBF16.ToSingle(0x3F81));
    }
}
