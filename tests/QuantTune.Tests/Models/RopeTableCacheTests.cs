using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>The cached RoPE tables against freshly computed ones.</summary>
public sealed class RopeTableCacheTests
{
    [Fact]
    public void ViewsEqualFreshTablesAcrossAGrowth()
    {
        using var rope = new RotaryEmbedding(new RopeConfig(10000.0, "default", 1.0, 1.0, 4.0, 8192), 32, CPU);
        using var cache = new RopeTableCache(rope);
        using var scope = NewDisposeScope();
        foreach (var (start, length) in new[] { (0L, 7L), (7L, 1L), (250L, 10L), (3L, 600L), (599L, 1L) })
        {
            var (cos, sin) = cache.CosSin(start, length, ScalarType.Float32);
            var (freshCos, freshSin) = rope.CosSin(start, length, ScalarType.Float32);
            Assert.Equal([length, 32L], cos.shape);
            Assert.True((cos - freshCos).abs().max().item<float>() <= 1e-6, $"cos of positions {start}.. differ");
            Assert.True((sin - freshSin).abs().max().item<float>() <= 1e-6, $"sin of positions {start}.. differ");
        }
        Assert.Equal(3 * RopeTableCache.Block, cache.Capacity);
    }

    [Fact]
    public void TablesFirstBuiltWhileDecodingServeTraining()
    {
        using var rope = new RotaryEmbedding(new RopeConfig(10000.0, "default", 1.0, 1.0, 4.0, 8192), 8, CPU);
        using var cache = new RopeTableCache(rope);
        using var scope = NewDisposeScope();
        using (inference_mode()) cache.CosSin(0, 4, ScalarType.Float32);
        var (cos, sin) = cache.CosSin(0, 4, ScalarType.Float32);
        var x = randn(1, 2, 4, 8).requires_grad_(true);
        RotaryEmbedding.Apply(x, cos, sin).sum().backward();
        Assert.NotNull(x.grad);
    }
}
