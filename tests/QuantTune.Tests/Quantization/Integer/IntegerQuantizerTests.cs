using QuantTune.Diagnostics;
using QuantTune.Quantization.Integer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Integer;

/// <summary>
/// IntegerQuantizer and IntegerQuantizedTensor against the naive scalar reference (bit for bit),
/// hand-computed values, the expected error ordering, storage cost and bad input.
/// </summary>
public sealed class IntegerQuantizerTests
{
    static float[] Values(Tensor t) => t.cpu().contiguous().data<float>().ToArray();

    static float[] WithOutliers(int count, int seed)
    {
        var x = NaiveIntegerReference.Normal(count, seed);
        x[5] = 20f;
        x[count / 3] = -35.5f;
        x[count - 2] = 50.25f;
        return x;
    }

    static float[] RoundTrip(IntegerScheme scheme, float[] x, long[] shape)
    {
        using var input = tensor(x, shape);
        using var q = new IntegerQuantizer(scheme).Quantize(input);
        using var d = q.Dequantize();
        Assert.Equal(shape, d.shape);
        return Values(d);
    }

    public static IEnumerable<object[]> ReferenceCases()
    {
        foreach (int bits in new[] { 8, 4, 3 })
            foreach (var mode in new[] { IntegerMode.Absmax, IntegerMode.ZeroPoint })
                foreach (var granularity in new[] { Granularity.Tensor, Granularity.Channel, Granularity.Block })
                    foreach (var shape in new[] { new long[] { 64, 256 }, new long[] { 37, 100 } })
                        yield return new object[] { bits, mode, granularity, shape };
    }

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void DequantizedValuesEqualTheNaiveReferenceBitForBit(int bits, IntegerMode mode, Granularity granularity, long[] shape)
    {
        int n = (int)(shape[0] * shape[1]);
        var x = WithOutliers(n, seed: bits * 100 + (int)mode * 10 + (int)granularity + n);
        var scheme = new IntegerScheme(bits, mode, granularity, granularity == Granularity.Block ? 64 : 0);
        var actual = RoundTrip(scheme, x, shape);
        var expected = NaiveIntegerReference.RoundTrip(x, shape[0], bits, mode == IntegerMode.Absmax, granularity.ToString().ToLowerInvariant(), 64);
        for (int i = 0; i < n; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{scheme.Name} element {i}: x = {x[i]:R}, expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void RoundsHalfToEven()
    {
        // α = 7 at 4 bits: s = 1, so the codes are round(x): 2.5 → 2, 0.5 → 0, 1.5 → 2, -3.5 → -4.
        var d = RoundTrip(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Tensor), new[] { 2.5f, 0.5f, 1.5f, -3.5f, 7f }, new long[] { 5 });
        Assert.Equal(new[] { 2f, 0f, 2f, -4f, 7f }, d);
    }

    [Fact]
    public void TheSeedsOutlierExampleCollapsesPerTensorAndIsFixedByBlocks()
    {
        var x = new[] { -5f, -3f, -1f, 1f, 3f, 5f, 100f };
        var perTensor = RoundTrip(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Tensor), x, new long[] { 7 });
        Assert.Equal(new[] { 0f, 0f, 0f, 0f, 0f, 0f }, perTensor[..6]);
        Assert.Equal(100f, perTensor[6], 3);

        var scheme = new IntegerScheme(4, IntegerMode.Absmax, Granularity.Block, 2);
        using var q = (IntegerQuantizedTensor)new IntegerQuantizer(scheme).Quantize(tensor(x));
        Assert.Equal(1, q.Layout.Padding);
        Assert.Equal(4, q.Layout.Groups);
        Assert.Equal("1", q.Metadata["padding"]);
        var blocks = Values(q.Dequantize());
        var alphas = new[] { 5f, 1f, 5f, 100f };
        for (int i = 0; i < x.Length; i++)
        {
            float halfStep = alphas[i / 2] / 7 / 2;
            Assert.True(MathF.Abs(blocks[i] - x[i]) <= halfStep * 1.0001f, $"element {i}: {x[i]} came back as {blocks[i]}, more than half a step ({halfStep}) away");
        }
        Assert.NotEqual(0f, blocks[0]);
    }

    [Theory]
    [InlineData(IntegerMode.Absmax)]
    [InlineData(IntegerMode.ZeroPoint)]
    public void AllZeroAndConstantGroupsComeBackWithoutNaN(IntegerMode mode)
    {
        var x = new[] { 0f, 0f, 0f, 0f, 2.75f, 2.75f, 2.75f, 2.75f, -3f, -3f, -3f, -3f, 1f, -2f, 0.5f, 4f };
        var d = RoundTrip(new IntegerScheme(4, mode, Granularity.Block, 4), x, new long[] { 4, 4 });
        Assert.All(d, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(new[] { 0f, 0f, 0f, 0f }, d[..4]);
        for (int i = 4; i < 12; i++) Assert.Equal(x[i], d[i], 5);
    }

    static double Mse(IntegerScheme scheme, float[] x, long[] shape, Func<int, bool>? include = null) =>
        NaiveIntegerReference.Mse(x, RoundTrip(scheme, x, shape), include);

    [Fact]
    public void ErrorShrinksWithBitsAndWithSmallerGroups()
    {
        long[] shape = { 256, 1024 };
        var x = NaiveIntegerReference.Normal(256 * 1024, seed: 7);
        double int8 = Mse(new IntegerScheme(8, IntegerMode.Absmax, Granularity.Channel), x, shape);
        double int4 = Mse(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Channel), x, shape);
        Assert.True(int8 * 100 < int4, $"int8 MSE {int8} should be far below int4 MSE {int4}");

        double tensorMse = Mse(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Tensor), x, shape);
        double channelMse = Mse(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Channel), x, shape);
        double blockMse = Mse(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Block, 64), x, shape);
        Assert.True(blockMse < channelMse && channelMse < tensorMse, $"block64 {blockMse} < channel {channelMse} < tensor {tensorMse} expected");
    }

    [Fact]
    public void ZeroPointBeatsAbsmaxOnShiftedData()
    {
        long[] shape = { 256, 1024 };
        var x = NaiveIntegerReference.Normal(256 * 1024, seed: 11, mean: 3f);
        foreach (var granularity in new[] { Granularity.Tensor, Granularity.Channel, Granularity.Block })
        {
            int block = granularity == Granularity.Block ? 64 : 0;
            double absmax = Mse(new IntegerScheme(4, IntegerMode.Absmax, granularity, block), x, shape);
            double zeroPoint = Mse(new IntegerScheme(4, IntegerMode.ZeroPoint, granularity, block), x, shape);
            Assert.True(zeroPoint <= absmax, $"{granularity}: zero point {zeroPoint} should not exceed absmax {absmax}");
        }
    }

    [Fact]
    public void BitsPerWeightCountsCodesAndConstants()
    {
        using var x = tensor(NaiveIntegerReference.Normal(256 * 1024, seed: 3), new long[] { 256, 1024 });
        using var int4 = new IntegerQuantizer(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Block, 64)).Quantize(x);
        Assert.Equal(4.5, int4.BitsPerWeight);
        using var int4zp = new IntegerQuantizer(new IntegerScheme(4, IntegerMode.ZeroPoint, Granularity.Block, 64)).Quantize(x);
        Assert.Equal(5.0, int4zp.BitsPerWeight); // + 32-bit zero point per block
        using var int3 = new IntegerQuantizer(new IntegerScheme(3, IntegerMode.Absmax, Granularity.Block, 64)).Quantize(x);
        Assert.Equal(3.5, int3.BitsPerWeight);
        using var int8 = new IntegerQuantizer(new IntegerScheme(8, IntegerMode.Absmax, Granularity.Tensor)).Quantize(x);
        Assert.Equal(8 + 32.0 / (256 * 1024), int8.BitsPerWeight, 12);
        using var channel = new IntegerQuantizer(new IntegerScheme(8, IntegerMode.ZeroPoint, Granularity.Channel)).Quantize(x);
        Assert.Equal(8 + 64.0 / 1024, channel.BitsPerWeight, 12);
    }

    [Theory]
    [InlineData(4, IntegerMode.Absmax, Granularity.Block, 64, "int4-absmax-block64")]
    [InlineData(8, IntegerMode.ZeroPoint, Granularity.Channel, 0, "int8-zeropoint-channel")]
    [InlineData(4, IntegerMode.Absmax, Granularity.Tensor, 0, "int4-absmax-tensor")]
    public void SchemeNames(int bits, IntegerMode mode, Granularity granularity, int block, string name)
    {
        var quantizer = new IntegerQuantizer(new IntegerScheme(bits, mode, granularity, block));
        Assert.Equal(name, quantizer.Scheme);
        using var q = quantizer.Quantize(tensor(NaiveIntegerReference.Normal(128, 1), new long[] { 2, 64 }));
        Assert.Equal(name, q.Scheme);
    }

    [Fact]
    public void FromStorageRebuildsTheSameTensor()
    {
        var x = WithOutliers(37 * 100, seed: 5);
        var scheme = new IntegerScheme(3, IntegerMode.ZeroPoint, Granularity.Block, 64, new QuantTune.Quantization.Calibration.MseCalibrator());
        using var q = new IntegerQuantizer(scheme).Quantize(tensor(x, new long[] { 37, 100 }));
        Assert.Equal("int3-zeropoint-block64-clip-mse", q.Scheme);
        var stored = q.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var loaded = IntegerQuantizedTensor.FromStorage(stored, q.Metadata);
        Assert.Equal(q.Scheme, loaded.Scheme);
        Assert.Equal(new long[] { 37, 100 }, loaded.Shape);
        Assert.Equal(Values(q.Dequantize()), Values(loaded.Dequantize()));
        Assert.Equal(ScalarType.BFloat16, loaded.Dequantize(ScalarType.BFloat16).dtype);
    }

    [Fact]
    public void BlockLargerThanTheTensorNamesTheOptionAndBothSizes()
    {
        var quantizer = new IntegerQuantizer(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Block, 128));
        var e = Assert.Throws<InvalidSettingException>(() => quantizer.Quantize(tensor(new[] { -5f, -3f, -1f, 1f, 3f, 5f, 100f })));
        Assert.Contains("IntegerScheme.BlockSize = 128", e.Message);
        Assert.Contains("7 elements", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(16)]
    public void BitsOutsideTwoToEightAreRejected(int bits)
    {
        var e = Assert.Throws<InvalidSettingException>(() => new IntegerQuantizer(new IntegerScheme(bits, IntegerMode.Absmax, Granularity.Tensor)));
        Assert.Contains("IntegerScheme.Bits", e.Message);
        Assert.Contains(bits.ToString(), e.Message);
        Assert.Contains("2..8", e.Message);
    }

    [Fact]
    public void BlockOfOneAndChannelsOfAVectorAreRejected()
    {
        var e = Assert.Throws<InvalidSettingException>(() => new IntegerQuantizer(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Block, 1)));
        Assert.Contains("IntegerScheme.BlockSize = 1", e.Message);
        var channel = new IntegerQuantizer(new IntegerScheme(4, IntegerMode.Absmax, Granularity.Channel));
        e = Assert.Throws<InvalidSettingException>(() => channel.Quantize(tensor(new[] { 1f, 2f })));
        Assert.Contains("channel", e.Message);
        Assert.Contains("[2]", e.Message);
    }

    static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Stored(IntegerMode mode)
    {
        using var q = new IntegerQuantizer(new IntegerScheme(4, mode, Granularity.Block, 64)).Quantize(tensor(NaiveIntegerReference.Normal(256, 2), new long[] { 2, 128 }));
        return (q.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.clone()), q.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value));
    }

    [Fact]
    public void FromStorageNamesAMissingScale()
    {
        var (tensors, metadata) = Stored(IntegerMode.Absmax);
        tensors.Remove("scale");
        var e = Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(tensors, metadata, "model.layers.0.mlp.up_proj.weight"));
        Assert.Contains("'scale' is missing", e.Message);
        Assert.Contains("model.layers.0.mlp.up_proj.weight", e.Message);
    }

    [Fact]
    public void FromStorageRejectsAScaleOfTheWrongSize()
    {
        var (tensors, metadata) = Stored(IntegerMode.Absmax);
        tensors["scale"] = ones(5);
        var e = Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(tensors, metadata));
        Assert.Contains("'scale' has 5 elements", e.Message);
        Assert.Contains("expected 4", e.Message);
    }

    [Fact]
    public void FromStorageNamesMissingZeroPointsCodesAndMetadata()
    {
        var (tensors, metadata) = Stored(IntegerMode.ZeroPoint);
        var noZero = new Dictionary<string, Tensor>(tensors);
        noZero.Remove("zero_point");
        Assert.Contains("'zero_point' is missing", Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(noZero, metadata)).Message);

        var shortCodes = new Dictionary<string, Tensor>(tensors) { [""] = zeros(100, ScalarType.Byte) };
        var e = Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(shortCodes, metadata));
        Assert.Contains("'' has 100 elements", e.Message);
        Assert.Contains("expected 128", e.Message);

        var noBits = new Dictionary<string, string>(metadata);
        noBits.Remove("bits");
        Assert.Contains("'bits' is missing", Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(tensors, noBits)).Message);

        var badShape = new Dictionary<string, string>(metadata) { ["shape"] = "2,64" };
        e = Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(tensors, badShape));
        Assert.Contains("'' has 128 elements", e.Message);
        Assert.Contains("expected 64", e.Message);

        var wrongScales = new Dictionary<string, Tensor>(tensors) { ["scale"] = ones(4, ScalarType.Float64) };
        Assert.Contains("'scale' has dtype Float64", Assert.Throws<QuantTuneException>(() => IntegerQuantizedTensor.FromStorage(wrongScales, metadata)).Message);
    }
}
