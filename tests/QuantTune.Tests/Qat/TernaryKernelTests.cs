using QuantTune.Qat;
using static TorchSharp.torch;
using QLinear = QuantTune.Models.Layers.Linear;

namespace QuantTune.Tests.Qat;

public sealed class TernaryKernelTests
{
    static sbyte[] RandomTrits(int n, int seed) => TernaryPackedTests.RandomTrits(n, seed);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 127)]
    [InlineData(7, 300)]
    public void InterleavedPackingRoundTripsAndPadsRowsTo128(int rows, int columns)
    {
        var trits = RandomTrits(rows * columns, columns);
        var packed = TernaryPacked.Pack(trits, rows, columns, TernaryPacking.TwoBitInterleaved);
        Assert.Equal(trits, packed.Unpack());
        Assert.Equal(rows * ((columns + 127) / 128) * 32, packed.Data.Length);
        // Column 32k + j of a block sits in byte j, bits 2k: column 33 of row 0 is byte 1, bits 2..3.
        if (columns > 33) Assert.Equal(trits[33] + 1, (packed.Data[1] >> 2) & 3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IntegerSumsEqualTheScalarReferenceExactly(bool portable)
    {
        const int rows = 37, columns = 300, batch = 3;
        var trits = RandomTrits(rows * columns, 5);
        var interleaved = TernaryPacked.Pack(trits, rows, columns, TernaryPacking.TwoBitInterleaved);
        var random = new Random(6);
        var x = Enumerable.Range(0, batch * columns).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();
        int padded = TernaryKernel.PaddedColumns(interleaved);
        var codes = new sbyte[batch * padded];
        for (int t = 0; t < batch; t++) Array.Copy(x, t * columns, codes, t * padded, columns);
        var sums = new int[batch * rows];
        TernaryKernel.Accumulate(interleaved, codes, batch, sums, portable);

        using var scope = NewDisposeScope();
        // The scalar add/subtract reference on the 2-bit row-major packing, with scale 1.
        var reference = TernaryMatmul.Apply(tensor(x.Select(v => (float)v).ToArray(), [batch, columns]),
            TernaryPacked.Pack(trits, rows, columns, TernaryPacking.TwoBit), 1f).data<float>().ToArray();
        Assert.Equal(reference, sums.Select(s => (float)s).ToArray());
        // And a naive loop over the unpacked trits.
        for (int t = 0; t < batch; t++)
            for (int o = 0; o < rows; o++)
                Assert.Equal(Enumerable.Range(0, columns).Sum(i => trits[o * columns + i] * x[t * columns + i]), sums[t * rows + o]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LongRowsOfExtremeValuesDoNotOverflow(bool portable)
    {
        // 70 blocks of 128 columns, every product ±127·1: past the int16 range, so the flush into int32 must work.
        const int columns = 128 * 70;
        var trits = new sbyte[2 * columns];
        Array.Fill(trits, (sbyte)1, 0, columns);
        Array.Fill(trits, (sbyte)-1, columns, columns);
        var packed = TernaryPacked.Pack(trits, 2, columns, TernaryPacking.TwoBitInterleaved);
        var codes = Enumerable.Repeat((sbyte)127, columns).ToArray();
        var sums = new int[2];
        TernaryKernel.Accumulate(packed, codes, 1, sums, portable);
        Assert.Equal(new[] { 127 * columns, -127 * columns }, sums);
    }

    [Fact]
    public void PackedLayerEqualsBitLinear158()
    {
        using var scope = NewDisposeScope();
        var linear = new QLinear(200, 40, true, ScalarType.Float32);
        linear.ResetParameters(new Generator(9));
        using var layer = new BitLinear158(linear);
        using var packed = PackedBitLinear158.From(layer);
        manual_seed(9);
        var x = randn(3, 5, 200);
        var expected = layer.forward(x);
        var actual = packed.forward(x);
        Assert.Equal(expected.shape, actual.shape);
        double error = (actual - expected).abs().max().item<float>(), magnitude = expected.abs().max().item<float>();
        Assert.True(error <= 1e-5 * magnitude, $"max error {error} at magnitude {magnitude}");
        Assert.Equal(40L * 256 / 4 + 4 + 40 * 4, packed.StorageBytes);
    }
}
