using QuantTune.Generation;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Tests.SideTuning;

/// <summary>Incremental QST decoding (backbone KV cache + the side layers' own) against the full-sequence forward.</summary>
public sealed class QstDecodingTests
{
    /// <summary>A QST model on an NF4 backbone whose gates and mix are moved off their initial values, so that every part of the side network shows in the logits.</summary>
    static (CausalLM Backbone, QstModel Qst) Build(string model, string? layers, int? slidingWindow = null)
    {
        CausalLM backbone;
        if (slidingWindow is int w)
        {
            backbone = new CausalLM(ModelConfig.Load(TestData.TinyLlamaDir) with { SlidingWindow = w }, ScalarType.Float32, CPU);
            WeightInit.Initialize(backbone, seed: 5);
        }
        else backbone = PretrainedModel.Load(model == "tiny-qwen2" ? TestData.TinyQwen2Dir : TestData.TinyLlamaDir).Model;
        ModelQuantizer.QuantizeNf4DoubleQuant(backbone);
        var qst = new QstModel(backbone, new QstConfig { Layers = layers?.Split(',').Select(int.Parse).ToArray() }, seed: 3);
        qst.eval();
        using var _ = no_grad();
        using var g = new Generator(11);
        using var gateNoise = randn(qst.side.gates.shape, generator: g);
        using var mixNoise = randn(qst.side.mix.shape, generator: g);
        qst.side.gates.add_(gateNoise);
        qst.side.mix.sub_(mixNoise.abs());
        return (backbone, qst);
    }

    [Theory]
    [InlineData("tiny-llama", null, null)]
    [InlineData("tiny-llama", "1,3", null)]
    [InlineData("tiny-qwen2", null, null)]
    [InlineData("tiny-llama", null, 8)]   // sliding window: cached steps need the explicit mask
    public void CachedStepsGiveTheFullSequenceLogitsAtEveryPosition(string model, string? layers, int? slidingWindow)
    {
        var (backbone, qst) = Build(model, layers, slidingWindow);
        using var _ = backbone;
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        using var g = new Generator(2);
        var ids = randint(0, backbone.Config.VocabSize, [1, 40], ScalarType.Int64, generator: g);
        var full = qst.Forward(ids);
        // The side network matters: QST's logits are not the backbone's.
        Assert.True((full - backbone.Forward(ids)).abs().max().item<float>() > 1e-2);

        using var cache = qst.NewCache();
        // A prefill of 12 tokens, a chunk of 8 (queries after cached keys), then single tokens.
        var parts = new List<Tensor> { qst.Forward(ids[.., ..12], cache), qst.Forward(ids[.., 12..20], cache) };
        for (int t = 20; t < 40; t++) parts.Add(qst.Forward(ids[.., t..(t + 1)], cache));
        Assert.Equal(40, cache.Backbone.Length);
        Assert.Equal(40, cache.Side.Length);
        double error = (cat(parts, 1) - full).abs().max().item<float>();
        Assert.True(error < 1e-5, $"incremental QST logits differ from the full forward by {error}");
    }

    [Fact]
    public void DecodingSessionGivesTheLastPositionsLogitsOfTheFullForward()
    {
        var (backbone, qst) = Build("tiny-llama", null);
        using var _ = backbone;
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        using var g = new Generator(4);
        var ids = randint(0, backbone.Config.VocabSize, [1, 24], ScalarType.Int64, generator: g);
        var full = qst.Forward(ids);
        using var session = new QstDecoding(qst);
        double error = (session.NextLogits(ids[.., ..10]) - full[.., 9]).abs().max().item<float>();
        for (int t = 10; t < 24; t++)
            error = Math.Max(error, (session.NextLogits(ids[.., t..(t + 1)]) - full[.., t]).abs().max().item<float>());
        Assert.True(error < 1e-5, $"the decoding session's logits differ from the full forward by {error}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0,2")]
    public void GreedyIdsEqualThoseOfRerunningTheWholeSequence(string? layers)
    {
        var (backbone, qst) = Build("tiny-llama", layers);
        using var _ = backbone;
        var prompt = new[] { 1, 312, 1205, 97, 3050 };
        var options = new SamplingOptions { MaxNewTokens = 32, StopTokens = [] };
        var incremental = TextGenerator.Generate(() => new QstDecoding(qst), backbone.Device, [], prompt, options).ToArray();
        var rerun = TextGenerator.Generate(ids => qst.Forward(ids), backbone.Device, [], prompt, options).ToArray();
        Assert.Equal(32, incremental.Length);
        Assert.Equal(rerun, incremental);
        // Not a degenerate repetition of one token, which would match by accident.
        Assert.True(incremental.Distinct().Count() > 3, string.Join(",", incremental));
    }
}
