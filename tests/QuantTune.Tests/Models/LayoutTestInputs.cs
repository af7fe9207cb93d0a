using QuantTune.Models.Loading;
using QuantTune.Quantization.Gptq;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models;

/// <summary>What the family layout tests (Phi-3's fused projections, GPT-2's names and Conv1D) share: fixed random ids, logits without autograd, and GPTQ end to end.</summary>
internal static class LayoutTestInputs
{
    /// <summary>Two rows of <paramref name="length"/> random ids from a fixed generator.</summary>
    public static Tensor Ids(int length = 24)
    {
        using var g = new Generator(99);
        return randint(4, 4096, [2, length], generator: g, dtype: ScalarType.Int64);
    }

    public static Tensor Logits(PretrainedModel m, Tensor ids)
    {
        using var _ = no_grad();
        return m.Model.Forward(ids);
    }

    /// <summary>
    /// GPTQ (4 bits, groups of 32) of <paramref name="fixture"/> on WikiText-2: each layer's linears are solved in the true-sequential
    /// order <paramref name="linearsOf"/> gives, below round-to-nearest in every layer, and the checkpoint written to
    /// <paramref name="folder"/> loads back, all of it used, to the in-memory model's logits (fp16 scales).
    /// </summary>
    public static PretrainedModel GptqBelowRoundToNearestAndLoadsBack(string fixture, string folder, Func<int, IEnumerable<string>> linearsOf, ITestOutputHelper output)
    {
        var settings = new GptqSettings(4, 32);
        using var scope = NewDisposeScope();
        var ids = Ids(48);
        Tensor quantized;
        using (var model = PretrainedModel.Load(fixture))
        {
            var wiki = WikiTextTokens.Of(model.Tokenizer).Take(20_000).ToList();
            var result = GptqModelQuantizer.Quantize(model.Model, CalibrationWindows.Sample(wiki, 16, 128, seed: 0), settings);
            Assert.All(result.Layers, l => Assert.Equal(linearsOf(l.Layer), l.Linears.Select(x => x.Name)));
            Assert.All(result.Layers, l => Assert.True(l.RelativeError < l.RelativeRtnError, $"layer {l.Layer}: GPTQ {l.RelativeError} vs RTN {l.RelativeRtnError}"));
            quantized = Logits(model, ids);
            GptqCheckpoint.Save(model.Model, fixture, folder, settings);
        }
        var loaded = PretrainedModel.Load(folder);
        Assert.Empty(loaded.UnusedKeys);
        double diff = (Logits(loaded, ids) - quantized).abs().max().item<float>();
        output.WriteLine($"GPTQ checkpoint vs in-memory logits (fp16 scales): {diff:E2}");
        Assert.True(diff < 0.05, $"{diff}");
        return loaded;
    }
}
