using QuantTune.Quantization.Calibration;
using QuantTune.Quantization.Integer;
using QuantTune.Tests.Quantization.Integer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Calibration;

/// <summary>
/// The clip calibrators on normal data with one huge outlier (they must clip well below it, and
/// the clipped quantization must beat plain absmax on the ordinary values), on clean data (MSE
/// keeps nearly the full range at 8 bits), and against hand-computed percentiles.
/// </summary>
public sealed class ClipCalibrationTests
{
    const int Rows = 256, Columns = 1024, OutlierIndex = 12_345;
    const float Outlier = 50f;

    static float[] NormalWithOutlier()
    {
        var x = NaiveIntegerReference.Normal(Rows * Columns, seed: 21);
        x[OutlierIndex] = Outlier;
        return x;
    }

    public static IEnumerable<object[]> Calibrators()
    {
        foreach (int bits in new[] { 4, 8 })
        {
            yield return new object[] { "percentile", bits };
            yield return new object[] { "mse", bits };
            yield return new object[] { "kl", bits };
        }
    }

    static IClipCalibrator Make(string name) => name switch
    {
        "percentile" => new PercentileCalibrator(),
        "mse" => new MseCalibrator(),
        _ => new KlDivergenceCalibrator(),
    };

    [Theory]
    [MemberData(nameof(Calibrators))]
    public void ClipsAHugeOutlierAndBeatsAbsmaxOnTheOtherValues(string name, int bits)
    {
        var x = NormalWithOutlier();
        var calibrator = Make(name);
        using var values = tensor(x, new long[] { 1, Rows * Columns });
        using var range = calibrator.Choose(values, bits, symmetric: true);
        Assert.Equal(new long[] { 1 }, range.High.shape);
        float alpha = range.High.item<float>();
        Assert.True(alpha > 1f && alpha < Outlier / 2, $"{name} at {bits} bits chose α = {alpha}; expected well below max|x| = {Outlier}");
        Assert.Equal(-alpha, range.Low.item<float>());

        using var input = tensor(x, new long[] { Rows, Columns });
        var plain = new IntegerScheme(bits, IntegerMode.Absmax, Granularity.Tensor);
        using var plainQ = new IntegerQuantizer(plain).Quantize(input);
        using var clippedQ = new IntegerQuantizer(plain with { Clipping = calibrator }).Quantize(input);
        Assert.EndsWith("-clip-" + calibrator.Name, clippedQ.Scheme);
        var plainD = plainQ.Dequantize().data<float>().ToArray();
        var clippedD = clippedQ.Dequantize().data<float>().ToArray();
        bool Ordinary(int i) => i != OutlierIndex;
        double plainMse = NaiveIntegerReference.Mse(x, plainD, Ordinary);
        double clippedMse = NaiveIntegerReference.Mse(x, clippedD, Ordinary);
        Assert.True(clippedMse < plainMse / 2, $"{name} at {bits} bits: clipped MSE {clippedMse} should be well below plain absmax MSE {plainMse}");
        // The clip really is α: the outlier comes back as α (to float rounding).
        Assert.InRange(clippedD[OutlierIndex], alpha * 0.999f, alpha * 1.001f);
    }

    [Fact]
    public void MseKeepsNearlyTheFullRangeAtEightBitsWithoutOutliers()
    {
        var x = NaiveIntegerReference.Normal(Rows * Columns, seed: 22);
        using var values = tensor(x, new long[] { Rows, Columns });
        using var range = new MseCalibrator().Choose(values, 8, symmetric: true);
        var ratio = range.High.div(values.abs().amax(new long[] { 1 })).data<float>().ToArray();
        Assert.Equal(Rows, ratio.Length);
        Assert.True(ratio.Average() > 0.95, $"mean chosen ratio {ratio.Average()} should be near 1");
        Assert.True(ratio.Min() >= 0.85, $"smallest chosen ratio {ratio.Min()} should be near 1");
    }

    [Fact]
    public void MseClipsHarderAtTwoBitsThanAtEight()
    {
        var x = NaiveIntegerReference.Normal(Rows * Columns, seed: 23);
        using var values = tensor(x, new long[] { Rows, Columns });
        using var two = new MseCalibrator().Choose(values, 2, symmetric: true);
        using var eight = new MseCalibrator().Choose(values, 8, symmetric: true);
        Assert.True(two.High.mean().item<float>() < 0.8f * eight.High.mean().item<float>());
    }

    [Fact]
    public void MseAsymmetricRangeStaysInsideMinAndMax()
    {
        var x = NaiveIntegerReference.Normal(64 * 256, seed: 24, mean: 2f);
        using var values = tensor(x, new long[] { 64, 256 });
        using var range = new MseCalibrator().Choose(values, 3, symmetric: false);
        var lo = range.Low.data<float>().ToArray();
        var hi = range.High.data<float>().ToArray();
        var min = values.amin(new long[] { 1 }).data<float>().ToArray();
        var max = values.amax(new long[] { 1 }).data<float>().ToArray();
        for (int g = 0; g < 64; g++)
        {
            Assert.InRange(lo[g], min[g], hi[g]);
            Assert.InRange(hi[g], lo[g], max[g]);
        }
        Assert.Contains(hi.Zip(max), p => p.First < p.Second); // some clipping happened at 3 bits
    }

    [Fact]
    public void PercentileInterpolatesLikeNumpy()
    {
        // |x| = 1..101 shuffled: the 90th percentile is at position 0.9·100 = 90, value 91; 99.5 → 100.5.
        var values = Enumerable.Range(1, 101).Select(v => (float)(v % 2 == 0 ? v : -v)).Reverse().ToArray();
        using var t = tensor(values, new long[] { 1, 101 });
        using var p90 = new PercentileCalibrator(90).Choose(t, 8, symmetric: true);
        Assert.Equal(91f, p90.High.item<float>(), 4);
        using var p995 = new PercentileCalibrator(99.5).Choose(t, 8, symmetric: true);
        Assert.Equal(100.5f, p995.High.item<float>(), 4);
        // Asymmetric: the 10th and 90th percentiles of x itself.
        using var asym = new PercentileCalibrator(90).Choose(t, 8, symmetric: false);
        var sorted = values.OrderBy(v => v).ToArray();
        Assert.Equal(sorted[10], asym.Low.item<float>(), 4);
        Assert.Equal(sorted[90], asym.High.item<float>(), 4);
    }

    [Fact]
    public void PercentileWorksPerGroup()
    {
        var x = new float[] { 1, 2, 3, 4, 10, 20, 30, 40 };
        using var t = tensor(x, new long[] { 2, 4 });
        using var range = new PercentileCalibrator(100).Choose(t, 4, symmetric: true);
        Assert.Equal(new[] { 4f, 40f }, range.High.data<float>().ToArray());
    }

    [Fact]
    public void KlClipsAStrayCountButKeepsAUniformHistogram()
    {
        // A decaying bulk over the first ~128 bins and one stray count at the far end: keeping all
        // 2048 bins would flatten the bulk's shape inside one level, so the best i lies near the bulk.
        var histogram = new double[2048];
        for (int k = 0; k < 160; k++) histogram[k] = Math.Round(10_000 * Math.Exp(-k / 24.0));
        histogram[2047] = 1;
        int kept = KlDivergenceCalibrator.BestBinCount(histogram, 8);
        Assert.InRange(kept, 16, 256);
        // A flat histogram loses nothing when merged, and any clip puts an outlier spike into P: keep everything.
        var flat = new double[2048];
        Array.Fill(flat, 1.0);
        Assert.Equal(2048, KlDivergenceCalibrator.BestBinCount(flat, 8));
    }

    [Fact]
    public void KlAppliesItsRatioToEveryGroup()
    {
        var x = NormalWithOutlier();
        using var values = tensor(x, new long[] { Rows, Columns });
        using var range = new KlDivergenceCalibrator().Choose(values, 8, symmetric: true);
        var ratio = range.High.div(values.abs().amax(new long[] { 1 })).data<float>().ToArray();
        Assert.All(ratio, r => Assert.Equal(ratio[0], r, 4));
        Assert.True(ratio[0] < 1);
    }
}
