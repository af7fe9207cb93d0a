using QuantTune.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Tests.Training.Optimizers;

public sealed class GradientClippingTests
{
    static Parameter[] WithGrads(ulong seed, double scale)
    {
        using var gen = new Generator(seed);
        var shapes = new long[][] { [7, 5], [11], [3, 4, 2] };
        return shapes.Select(s =>
        {
            var p = new Parameter(zeros(s));
            p.grad = randn(s, generator: gen) * scale;
            return p;
        }).ToArray();
    }

    static float[] Grad(Parameter p) => p.grad!.data<float>().ToArray();

    [Fact]
    public void ClipsToTheLimitAndReturnsTheNaiveTotalNorm()
    {
        var p = WithGrads(7, 3.0);
        var before = p.Select(Grad).ToArray();
        double naive = Math.Sqrt(before.SelectMany(g => g).Sum(v => (double)v * v));
        double total = GradientClipping.ClipGradNorm(p, 1.0);
        Assert.Equal(naive, total, 1e-4 * naive);
        double scale = 1.0 / (naive + 1e-6);
        for (int i = 0; i < p.Length; i++)
        {
            var after = Grad(p[i]);
            for (int j = 0; j < after.Length; j++) Assert.Equal(before[i][j] * scale, after[j], 1e-5);
        }
        double clipped = Math.Sqrt(p.SelectMany(Grad).Sum(v => (double)v * v));
        Assert.Equal(1.0, clipped, 1e-4);
        foreach (var x in p) x.Dispose();
    }

    [Fact]
    public void LeavesGradsAloneBelowTheLimit()
    {
        var p = WithGrads(8, 0.01);
        var before = p.Select(Grad).ToArray();
        double total = GradientClipping.ClipGradNorm(p, 1.0);
        Assert.True(total < 1.0);
        for (int i = 0; i < p.Length; i++) Assert.Equal(before[i], Grad(p[i]));
        foreach (var x in p) x.Dispose();
    }

    [Fact]
    public void MatchesTorchSharpClipGradNorm()
    {
        var ours = WithGrads(9, 2.0);
        var theirs = WithGrads(9, 2.0);
        double total = GradientClipping.ClipGradNorm(ours, 0.5);
        double reference = nn.utils.clip_grad_norm_(theirs, 0.5);
        Assert.Equal(reference, total, 1e-5 * reference);
        for (int i = 0; i < ours.Length; i++)
        {
            double diff = (ours[i].grad! - theirs[i].grad!).abs().max().item<float>();
            Assert.True(diff <= 1e-6, $"tensor {i}: {diff}");
        }
        foreach (var x in ours.Concat(theirs)) x.Dispose();
    }

    [Fact]
    public void ParametersWithoutGradsAreIgnored()
    {
        using var none = new Parameter(ones(4));
        Assert.Equal(0.0, GradientClipping.ClipGradNorm([none], 1.0));
        var p = WithGrads(10, 1.0);
        double withNull = GradientClipping.ClipGradNorm(p.Append(none), 1e9);
        double without = GradientClipping.ClipGradNorm(p, 1e9);
        Assert.Equal(without, withNull);
        foreach (var x in p) x.Dispose();
    }
}
