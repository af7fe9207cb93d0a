using QuantTune.Diagnostics;
using QuantTune.Generation;
using static TorchSharp.torch;

namespace QuantTune.Tests.Generation;

public sealed class SamplerTests
{
    static readonly float[] Probabilities = [0.5f, 0.3f, 0.2f];

    static Tensor Logits() => tensor(Probabilities.Select(p => MathF.Log(p)).ToArray());

    static int[] Draw(SamplingOptions options, int n)
    {
        using var sampler = new Sampler(options);
        using var logits = Logits();
        return Enumerable.Range(0, n).Select(_ => sampler.Next(logits)).ToArray();
    }

    [Fact]
    public void GreedyPicksTheArgmax()
    {
        using var logits = tensor(new float[] { 0.1f, 3f, -2f, 2.9f });
        using var sampler = new Sampler(new SamplingOptions());
        Assert.Equal(1, sampler.Next(logits));
    }

    [Fact]
    public void TemperatureOneFollowsTheSoftmax()
    {
        var draws = Draw(new SamplingOptions { Temperature = 1.0, Seed = 11 }, 6000);
        for (int i = 0; i < 3; i++)
            Assert.InRange(draws.Count(d => d == i) / 6000.0, Probabilities[i] - 0.03, Probabilities[i] + 0.03);
    }

    [Fact]
    public void TopKKeepsOnlyTheKMostLikely()
    {
        var draws = Draw(new SamplingOptions { Temperature = 1.0, TopK = 2, Seed = 3 }, 2000);
        Assert.DoesNotContain(2, draws);
        Assert.InRange(draws.Count(d => d == 0) / 2000.0, 0.625 - 0.04, 0.625 + 0.04); // 0.5 / 0.8
        Assert.All(Draw(new SamplingOptions { Temperature = 1.0, TopK = 1, Seed = 3 }, 200), d => Assert.Equal(0, d));
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // Cumulative 0.5, 0.8, 1.0: top-p 0.7 keeps tokens 0 and 1; top-p 0.4 keeps token 0 only.
        var draws = Draw(new SamplingOptions { Temperature = 1.0, TopP = 0.7, Seed = 5 }, 2000);
        Assert.DoesNotContain(2, draws);
        Assert.Contains(1, draws);
        Assert.All(Draw(new SamplingOptions { Temperature = 1.0, TopP = 0.4, Seed = 5 }, 200), d => Assert.Equal(0, d));
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        var options = new SamplingOptions { Temperature = 0.8, TopK = 3, Seed = 42 };
        Assert.Equal(Draw(options, 100), Draw(options, 100));
        Assert.NotEqual(Draw(options, 100), Draw(options with { Seed = 43 }, 100));
    }

    [Theory]
    [InlineData(-1.0, 0, 1.0)]
    [InlineData(1.0, -2, 1.0)]
    [InlineData(1.0, 0, 0.0)]
    [InlineData(1.0, 0, 1.5)]
    public void InvalidOptionsAreRejected(double temperature, int topK, double topP)
    {
        Assert.ThrowsAny<QuantTuneException>(() => new Sampler(new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }));
    }
}
