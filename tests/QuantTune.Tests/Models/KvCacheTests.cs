using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>Incremental decoding with the KV cache against one full forward pass over the same tokens.</summary>
public sealed class KvCacheTests
{
    [Fact]
    public void CachedStepsReproduceTheFullForward()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var reference = new ReferenceOutputs(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var ids = reference.Get("input_ids.1").unsqueeze(0); // [1, 64]
        var full = pm.Model.Forward(ids);
        using var cache = new KvCache(pm.Config.NumLayers);
        // A prefill of 10 tokens, a chunk of 30 (queries after cached keys: explicit mask), then single tokens.
        var parts = new List<Tensor> { pm.Model.Forward(ids[.., ..10], cache), pm.Model.Forward(ids[.., 10..40], cache) };
        for (int t = 40; t < 64; t++) parts.Add(pm.Model.Forward(ids[.., t..(t + 1)], cache));
        Assert.Equal(64, cache.Length);
        var incremental = cat(parts, 1);
        double error = (incremental - full).abs().max().item<float>();
        Assert.True(error < 1e-4, $"cached decoding differs from the full forward by {error}");
    }

    [Fact]
    public void CachedStepsBeyondASlidingWindowReproduceTheFullForward()
    {
        // Single-token steps attend without a mask while the window reaches back to position 0, with one after.
        using var model = new CausalLM(ModelConfig.Load(TestData.TinyLlamaDir) with { SlidingWindow = 8 }, ScalarType.Float32, CPU);
        WeightInit.Initialize(model, seed: 9);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var ids = randint(0, 4096, [1, 30], dtype: ScalarType.Int64);
        var full = model.Forward(ids);
        using var cache = new KvCache(model.Config.NumLayers);
        var parts = new List<Tensor> { model.Forward(ids[.., ..3], cache) };
        for (int t = 3; t < 30; t++) parts.Add(model.Forward(ids[.., t..(t + 1)], cache));
        double error = (cat(parts, 1) - full).abs().max().item<float>();
        Assert.True(error < 1e-4, $"cached decoding with a sliding window differs from the full forward by {error}");
    }

    [Fact]
    public void AppendWritesIntoAPreallocatedBufferInsteadOfCopyingTheCache()
    {
        using var cache = new KvCache(1);
        using var scope = NewDisposeScope();
        var steps = new List<Tensor>();
        long firstPointer = 0;
        for (int t = 0; t < KvCache.Block + 3; t++)
        {
            var k = randn(1, 2, 1, 4);
            steps.Add(k);
            var (keys, values) = cache.Append(0, k, k.neg());
            Assert.Equal(t + 1, keys.shape[2]);
            if (t == 0) firstPointer = (long)keys.storage<float>().data_ptr();
            // Within a block every step's keys start at the same memory: nothing cached is copied.
            if (t < KvCache.Block) Assert.Equal(firstPointer, (long)keys.storage<float>().data_ptr());
            Assert.Equal(t < KvCache.Block ? KvCache.Block : 2 * KvCache.Block, cache.Capacity(0));
            if (t == KvCache.Block + 2)
            {
                Assert.Equal(0f, (cat(steps, 2) - keys).abs().max().item<float>());
                Assert.Equal(0f, (cat(steps, 2).neg() - values).abs().max().item<float>());
            }
        }
        Assert.Equal(KvCache.Block + 3, cache.Length);
    }

    [Fact]
    public void DecodeStepsLeaveTheThreadCountAsTheyFoundIt()
    {
        int before = get_num_threads();
        try
        {
            set_num_threads(2);
            using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            using var cache = new KvCache(pm.Config.NumLayers);
            pm.Model.Forward(randint(0, 4096, [1, 5], dtype: ScalarType.Int64), cache);
            pm.Model.Forward(randint(0, 4096, [1, 1], dtype: ScalarType.Int64), cache);
            Assert.Equal(2, get_num_threads());
        }
        finally { set_num_threads(before); }
    }

    [Fact]
    public void SlidingWindowWiderThanTheSequenceChangesNothing()
    {
        var baseConfig = ModelConfig.Load(TestData.TinyLlamaDir);
        using var plain = new CausalLM(baseConfig, ScalarType.Float32, CPU);
        using var windowed = new CausalLM(baseConfig with { SlidingWindow = 64 }, ScalarType.Float32, CPU);
        using var narrow = new CausalLM(baseConfig with { SlidingWindow = 8 }, ScalarType.Float32, CPU);
        foreach (var m in new[] { plain, windowed, narrow }) WeightInit.Initialize(m, seed: 7);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var ids = randint(0, 4096, [1, 48], dtype: ScalarType.Int64);
        var a = plain.Forward(ids);
        Assert.True((a - windowed.Forward(ids)).abs().max().item<float>() < 1e-5);
        var c = narrow.Forward(ids);
        // Positions inside the first window see the same keys; later ones do not.
        Assert.True((a[.., ..8] - c[.., ..8]).abs().max().item<float>() < 1e-5);
        Assert.True((a[.., 20..] - c[.., 20..]).abs().max().item<float>() > 1e-4);
    }

    [Fact]
    public void CausalMaskMatchesItsDefinition()
    {
        using var scope = NewDisposeScope();
        long past = 5, length = 4;
        int window = 3;
        var mask = AttentionMask.Causal(past, length, window, ScalarType.Float32, CPU);
        Assert.Equal([length, past + length], mask.shape);
        for (long i = 0; i < length; i++)
            for (long j = 0; j < past + length; j++)
            {
                long q = past + i;
                bool visible = j <= q && j > q - window;
                Assert.Equal(visible ? 0f : float.NegativeInfinity, mask[i, j].item<float>());
            }
    }
}
