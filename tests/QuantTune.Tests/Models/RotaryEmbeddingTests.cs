using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>RoPE tables against a scalar re-computation of transformers' formulas in double precision.</summary>
public sealed class RotaryEmbeddingTests
{
    static double NaiveInvFreq(RopeConfig rope, int dim, int i)
    {
        double f = 1.0 / Math.Pow(rope.Theta, 2.0 * i / dim);
        if (rope.Type != "llama3") return f;
        double low = rope.OriginalMaxPositionEmbeddings / rope.LowFreqFactor;
        double high = rope.OriginalMaxPositionEmbeddings / rope.HighFreqFactor;
        double wavelen = 2 * Math.PI / f;
        if (wavelen < high) return f;
        if (wavelen > low) return f / rope.Factor;
        double smooth = (rope.OriginalMaxPositionEmbeddings / wavelen - rope.LowFreqFactor) / (rope.HighFreqFactor - rope.LowFreqFactor);
        return (1 - smooth) * f / rope.Factor + smooth * f;
    }

    [Theory]
    [InlineData("default", 10000.0, 1.0)]
    [InlineData("linear", 10000.0, 4.0)]
    [InlineData("llama3", 500000.0, 8.0)]
    public void CosSinMatchScalarFormula(string type, double theta, double factor)
    {
        const int dim = 128;
        var rope = new RopeConfig(theta, type, factor, 1.0, 4.0, 8192);
        using var r = new RotaryEmbedding(rope, dim, CPU);
        using var scope = NewDisposeScope();
        var (cos, sin) = r.CosSin(start: 0, length: 3000, ScalarType.Float32);
        Assert.Equal([3000L, dim], cos.shape);
        foreach (int pos in new[] { 1, 17, 999, 2999 })
            for (int i = 0; i < dim / 2; i++)
            {
                double position = type == "linear" ? pos / factor : pos;
                double angle = position * NaiveInvFreq(rope, dim, i);
                // fp32 angles: the error grows with the angle (|angle| up to ~3000 rad here).
                double tol = 2e-6 * Math.Max(1, Math.Abs(angle)) + 1e-5;
                Assert.InRange(cos[pos, i].item<float>(), Math.Cos(angle) - tol, Math.Cos(angle) + tol);
                Assert.InRange(sin[pos, i + dim / 2].item<float>(), Math.Sin(angle) - tol, Math.Sin(angle) + tol);
            }
    }

    [Fact]
    public void ApplyRotatesPairsOfHalves()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3, 4 }).reshape(1, 1, 1, 4);
        double a0 = 0.3, a1 = 1.1;
        var cos = tensor(new float[] { (float)Math.Cos(a0), (float)Math.Cos(a1), (float)Math.Cos(a0), (float)Math.Cos(a1) }).reshape(1, 4);
        var sin = tensor(new float[] { (float)Math.Sin(a0), (float)Math.Sin(a1), (float)Math.Sin(a0), (float)Math.Sin(a1) }).reshape(1, 4);
        var y = RotaryEmbedding.Apply(x, cos, sin).reshape(4);
        // (x0, x2) and (x1, x3) are rotated by a0 and a1.
        Assert.Equal(1 * Math.Cos(a0) - 3 * Math.Sin(a0), y[0].item<float>(), 5);
        Assert.Equal(1 * Math.Sin(a0) + 3 * Math.Cos(a0), y[2].item<float>(), 5);
        Assert.Equal(2 * Math.Cos(a1) - 4 * Math.Sin(a1), y[1].item<float>(), 5);
        Assert.Equal(2 * Math.Sin(a1) + 4 * Math.Cos(a1), y[3].item<float>(), 5);
    }
}
