using QuantTune.Qat;
using static TorchSharp.torch;

namespace QuantTune.Tests.Qat;

public sealed class TernaryPackedTests
{
    internal static sbyte[] RandomTrits(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (sbyte)random.Next(-1, 2)).ToArray();
    }

    [Theory]
    [InlineData(TernaryPacking.TwoBit, 1, 1)]
    [InlineData(TernaryPacking.TwoBit, 3, 7)]
    [InlineData(TernaryPacking.TwoBit, 13, 17)]
    [InlineData(TernaryPacking.Base3, 1, 1)]
    [InlineData(TernaryPacking.Base3, 3, 7)]
    [InlineData(TernaryPacking.Base3, 13, 17)]
    [InlineData(TernaryPacking.Base3, 1, 243)]
    public void RoundTripsRandomTrits(TernaryPacking packing, int rows, int columns)
    {
        var trits = RandomTrits(rows * columns, rows * 1000 + columns);
        var packed = TernaryPacked.Pack(trits, rows, columns, packing);
        Assert.Equal(trits, packed.Unpack());
        int per = packing == TernaryPacking.TwoBit ? 4 : 5;
        Assert.Equal((trits.Length + per - 1) / per, packed.Data.Length);
        // Decoding from an offset that starts mid-byte.
        var tail = new sbyte[trits.Length - trits.Length / 3];
        packed.Decode(trits.Length / 3, tail);
        Assert.Equal(trits[(trits.Length / 3)..], tail);
    }

    [Fact]
    public void Base3ByteIsTheSumOfCodesTimesPowersOfThree()
    {
        // Trits −1, 0, 1, 1, −1 → codes 0, 1, 2, 2, 0 → 0 + 3 + 18 + 54 + 0 = 75.
        var packed = TernaryPacked.Pack(new sbyte[] { -1, 0, 1, 1, -1 }, 1, 5, TernaryPacking.Base3);
        Assert.Equal(new byte[] { 75 }, packed.Data);
        var all = TernaryPacked.Pack(new sbyte[] { 1, 1, 1, 1, 1 }, 1, 5, TernaryPacking.Base3);
        Assert.Equal(new byte[] { 242 }, all.Data);
    }

    [Theory]
    [InlineData(TernaryPacking.TwoBit, 2.0)]
    [InlineData(TernaryPacking.Base3, 1.6)]
    public void BitsPerWeight(TernaryPacking packing, double expected)
    {
        var packed = TernaryPacked.Pack(RandomTrits(40 * 60, 1), 40, 60, packing);
        Assert.Equal(expected, packed.BitsPerWeight, 10);
        Assert.Equal(40 * 60 * expected / 8 + 4, packed.StorageBytes);
    }

    [Fact]
    public void RejectsNonTernaryValues()
    {
        Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => TernaryPacked.Pack(new sbyte[] { 0, 2 }, 1, 2, TernaryPacking.TwoBit));
    }

    [Theory]
    [InlineData(TernaryPacking.TwoBit)]
    [InlineData(TernaryPacking.Base3)]
    public void AddOnlyMatmulEqualsTheDenseMatmulOfTheDequantizedWeight(TernaryPacking packing)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var w = randn(37, 53) * 0.05;
        var (codes, gamma) = BitNetWeights.Ternary(w);
        var packed = TernaryPacked.Pack(codes, packing);
        float scale = gamma.item<float>();
        var x = randn(2, 3, 53);
        var y = TernaryMatmul.Apply(x, packed, scale);
        // Independent reference: the fp32 matmul of codes·γ built from the tensor, not the packing.
        var dense = matmul(x, (codes * gamma).t());
        Assert.Equal(dense.shape, y.shape);
        double error = (y - dense).abs().max().item<float>();
        double magnitude = dense.abs().max().item<float>();
        Assert.True(error <= 1e-4 * magnitude, $"max error {error} at magnitude {magnitude}");
        Assert.True(packed.Dequantize(scale).allclose(codes * gamma));
    }
}
