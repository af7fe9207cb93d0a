using QuantTune.Diagnostics;
using QuantTune.Evaluation;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Evaluation;

public sealed class PerplexityWindowTests
{
    [Theory]
    [InlineData(1000, 256, 256)]
    [InlineData(1000, 256, 128)]
    [InlineData(1000, 100, 1)]
    [InlineData(257, 256, 256)]
    [InlineData(2, 8, 8)]
    public void EveryTargetIsScoredExactlyOnceWithAtMostWindowContext(int tokens, int window, int stride)
    {
        var scored = new int[tokens];
        foreach (var w in PerplexityEvaluator.Plan(tokens, window, stride))
        {
            Assert.InRange(w.Length, 1, window);
            for (int i = w.Skip; i < w.Length; i++) scored[w.Start + i + 1]++;
        }
        Assert.Equal(0, scored[0]);
        Assert.All(scored.Skip(1), c => Assert.Equal(1, c));
    }

    [Fact]
    public void NonOverlappingWindowsAreTheFixtureProtocol()
    {
        // for s in range(0, N-1, 256): inputs ids[s : s+256], targets ids[s+1 : s+257]
        var plan = PerplexityEvaluator.Plan(600, 256, 256);
        Assert.Equal([new(0, 256, 0), new(256, 256, 0), new PerplexityEvaluator.WindowSpan(512, 87, 0)], plan);
    }

    [Fact]
    public void OverlappingWindowsGiveMoreContextAndLowerPerplexity()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var ids = WikiTextTokens.Of(pm.Tokenizer).Take(4096).ToList();
        var disjoint = PerplexityEvaluator.Evaluate(pm.Model, ids, window: 128, stride: 128);
        var sliding = PerplexityEvaluator.Evaluate(pm.Model, ids, window: 128, stride: 32);
        Assert.Equal(disjoint.PredictedTokens, sliding.PredictedTokens);
        Assert.True(sliding.Perplexity < disjoint.Perplexity, $"{sliding.Perplexity} vs {disjoint.Perplexity}");
    }

    [Fact]
    public void BadWindowSettingsAreRejected()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        Assert.Contains("PerplexityEvaluator.Evaluate(stride) = 8", Assert.ThrowsAny<QuantTuneException>(() => PerplexityEvaluator.Evaluate(pm.Model, [1, 2, 3], 4, 8)).Message);
        Assert.Contains("PerplexityEvaluator.Evaluate(window) = 0", Assert.ThrowsAny<QuantTuneException>(() => PerplexityEvaluator.Evaluate(pm.Model, [1, 2, 3], 0, 0)).Message);
        Assert.Contains("at least 2", Assert.ThrowsAny<QuantTuneException>(() => PerplexityEvaluator.Evaluate(pm.Model, [1], 4, 4)).Message);
    }
}
