using QuantTune.Evaluation;
using QuantTune.Models.Loading;
using QuantTune.Quantization;
using QuantTune.Quantization.Activations;
using QuantTune.Quantization.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

/// <summary>
/// What the quantization guide predicts, measured on tiny-llama's WikiText-2 perplexity
/// (first 16,384 test tokens): INT8 ≈ the original; at 4 bits NF4 ≤ FP4 and smaller blocks are
/// better; static W8A8 costs more than dynamic. Deterministic: no randomness is involved.
/// </summary>
public sealed class QuantizationGuideTests(ITestOutputHelper output)
{
    static readonly Lazy<List<int>> Ids = new(() =>
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        return WikiTextTokens.Of(pm.Tokenizer).Take(16385).ToList();
    });

    double Perplexity(SchemeOptions? options, ActivationMode? activations = null)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        if (options is not null)
        {
            var quantizer = QuantizationSchemes.Create(options);
            if (activations is ActivationMode mode)
            {
                var train = pm.Tokenizer.Encode(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt")));
                var windows = Enumerable.Range(0, 8).Select(i => train.Skip(i * 256).Take(256).Select(x => (long)x).ToArray()).ToList();
                W8A8.Apply(pm.Model, quantizer, mode, windows);
            }
            else ModelQuantizer.Quantize(pm.Model, quantizer, ScalarType.BFloat16);
        }
        var ppl = PerplexityEvaluator.Evaluate(pm.Model, Ids.Value).Perplexity;
        output.WriteLine($"{options?.Scheme ?? "original"} {options?.Block} {activations}: {ppl:F4}");
        return ppl;
    }

    [Fact]
    public void Int8IsWithinHalfAPercentOfTheOriginal()
    {
        var original = Perplexity(null);
        Assert.InRange(Perplexity(new("int8", Granularity: "channel")) / original, 0.995, 1.005);
    }

    [Fact]
    public void Nf4BeatsFp4AndMatchesOrBeatsInt4AbsmaxAtTheSameBlock()
    {
        var nf4 = Perplexity(new("nf4", Block: 64));
        Assert.True(nf4 <= Perplexity(new("fp4", Block: 64)));
        // On this tiny model NF4 and INT4 absmax (block 64) tie in perplexity: 87.767 vs 87.770 on
        // 65,536 tokens, 93.66 vs 93.31 on these 16,384. NF4's advantage is in the weight error
        // (1.31e-5 vs 1.79e-5); its perplexity stays within 0.5 % of INT4's.
        Assert.True(WeightMse(new("nf4", Block: 64)) < 0.8 * WeightMse(new("int4", Block: 64)));
        Assert.True(nf4 <= 1.005 * Perplexity(new("int4", Block: 64)));
    }

    static double WeightMse(SchemeOptions options)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        return ModelQuantizer.Quantize(pm.Model, QuantizationSchemes.Create(options), ScalarType.BFloat16).WeightMse;
    }

    [Fact]
    public void SmallerBlocksAreBetter()
    {
        Assert.True(Perplexity(new("nf4", Block: 32)) < Perplexity(new("nf4", Block: 256)));
        Assert.True(Perplexity(new("int4", Block: 64)) < Perplexity(new("int4", Granularity: "tensor")));
    }

    [Fact]
    public void StaticActivationScalesCostMoreThanDynamicOnes()
    {
        var dynamic = Perplexity(new("int8", Granularity: "channel"), ActivationMode.Dynamic);
        var stat = Perplexity(new("int8", Granularity: "channel"), ActivationMode.Static);
        Assert.True(dynamic < stat, $"dynamic {dynamic} vs static {stat}");
    }
}
