using QuantTune.Models.Config;
using QuantTune.Training.Memory;

namespace QuantTune.Tests.Models.MixtureOfExperts;

/// <summary>
/// The shipped configs of Qwen1.5-MoE-A2.7B and Mixtral-8x7B read as their families and count the
/// parameters their model cards give (written out here from the shapes): Qwen1.5-MoE's shared
/// expert and its gate included, Mixtral's eight experts of intermediate_size in every layer.
/// </summary>
public sealed class PublishedMoeConfigTests
{
    [Fact]
    public void Qwen15MoeA27BCountsItsSharedExpert()
    {
        var c = ModelConfig.Load(ConfigSources.Resolve("qwen1.5-moe-a2.7b"));
        Assert.Equal(5632, c.Experts!.Shared!.IntermediateSize);
        Assert.True(c.QkvBias);
        long h = 2048, vocab = 151936;
        long attention = 4 * h * h + 3 * h; // q, k, v (with biases), o
        long moe = 60 * h + 60 * 3 * h * 1408 + 3 * h * 5632 + h; // router, experts, shared expert, its gate
        long expected = 2 * vocab * h + 24 * (attention + moe + 2 * h) + h;
        Assert.Equal(14_315_784_192L, expected);
        Assert.Equal(expected, ModelDimensionLimits.ParameterCount(c));
        Assert.Equal(expected, MemoryPlanner.Plan(new PlanRequest(c, "full", 1, 1024)).TrainableParameters);
    }

    [Fact]
    public void Mixtral8x7BIsItsFortySixPointSevenBillionParameters()
    {
        var c = ModelConfig.Load(ConfigSources.Resolve("mixtral-8x7b"));
        Assert.Equal(8, c.Experts!.NumExperts);
        Assert.Equal(14336, c.Experts.ExpertIntermediateSize);
        Assert.True(c.Experts.NormTopKProb);
        Assert.Null(c.Experts.Shared);
        Assert.Equal(32, Enumerable.Range(0, c.NumLayers).Count(c.IsSparse));
        Assert.Null(c.SlidingWindow);
        Assert.Equal(46_702_792_704L, ModelDimensionLimits.ParameterCount(c));
        Assert.Equal(46_702_792_704L, MemoryPlanner.Plan(new PlanRequest(c, "full", 1, 1024)).TrainableParameters);
    }
}
