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
