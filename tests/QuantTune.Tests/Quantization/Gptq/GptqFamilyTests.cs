using QuantTune.Models.Loading;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Layers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization.Gptq;

/// <summary>
/// GPTQ on each newer family's fixture: every decoder linear becomes GPTQ-quantized in true-sequential order, with a
/// smaller output error than round-to-nearest on the same grid in every layer (q/k norms, Gemma's sandwich norms and
/// soft-caps, sliding layers and local RoPE, OLMo 2's post-norms, SmolLM3's no-RoPE layers are in the layer runs that capture the Hessians). Phi-3's fused layout is
/// in Phi3FusedLayoutTests.
/// </summary>
public sealed class GptqFamilyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-gemma3")]
    [InlineData("tiny-gemma2")]
    [InlineData("tiny-olmo2")]
    [InlineData("tiny-smollm3")]
    public void GptqQuantizesEveryDecoderLinearBelowRoundToNearest(string fixture)
    {
        using var model = PretrainedModel.Load(TestData.Fixture(fixture));
        var wiki = WikiTextTokens.Of(model.Tokenizer).Take(20_000).ToList();
        var result = GptqModelQuantizer.Quantize(model.Model, CalibrationWindows.Sample(wiki, 16, 128, seed: 0), new GptqSettings(4, 32));
        Assert.Equal(model.Config.NumLayers, result.Layers.Count);
        foreach (var l in result.Layers)
        {
            output.WriteLine($"{fixture} layer {l.Layer}: GPTQ {l.RelativeError:E3}, RTN {l.RelativeRtnError:E3}");
            Assert.Equal(7, l.Linears.Count);
            Assert.True(l.RelativeError < l.RelativeRtnError, $"layer {l.Layer}: GPTQ {l.RelativeError} vs RTN {l.RelativeRtnError}");
        }
        Assert.Equal(7 * model.Config.NumLayers, model.Model.named_modules().Count(m => m.module is QuantizedLinear));
        using var scope = NewDisposeScope();
        using (no_grad())
            Assert.True(model.Model.Forward(tensor(wiki.Take(32).Select(i => (long)i).ToArray(), [1, 32])).isfinite().all().item<bool>());
    }
}
