using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Qat;
using QuantTune.Quantization;
using static TorchSharp.torch;

namespace QuantTune.Tests.Qat;

/// <summary>QAT with LoRA: the adapter trains on the frozen base seen through the quantizer.</summary>
public sealed class QatLoraTests() : TempFolderTest("qt-qat-lora-")
{
    const string Layer = "model.layers.1.self_attn.q_proj";

    static LoraConfig Config() => new() { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.AllLinearLayers, InitLoraWeights = false };

    /// <summary>The layer's quantized weight and input computed here from the original weight, without the QAT classes.</summary>
    static (Tensor Weight, Func<Tensor, Tensor> Input) Independent(string kind, Tensor w)
    {
        if (kind == "int4")
        {
            using var q = QuantizationSchemes.Create(new SchemeOptions("int4", Block: 64)).Quantize(w);
            return (q.Dequantize(ScalarType.Float32).reshape(w.shape), x => x);
        }
        double gamma = w.abs().mean().item<float>();
        return ((w / gamma).clamp(-1, 1).round() * gamma, x =>
        {
            var s = x.abs().amax([-1], keepdim: true) / 127;
            return (x / s).round() * s;
        });
    }

    [Theory]
    [InlineData("int4")]
    [InlineData("bitnet158")]
    public void ForwardIsTheQuantizedBasePlusLoraAndOnlyLoraGetsGradients(string kind)
    {
        using var scope = NewDisposeScope();
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var original = pm.Model.named_parameters().First(p => p.name == Layer + ".weight").parameter.detach().clone();
        new QatSpec(kind).Freeze(pm.Model);
        LoraModel.Apply(pm.Model, Config(), seed: 3);
        var lora = LoraModel.Layers(pm.Model).Single(l => l.Path == Layer).Layer;
        Assert.IsType<FrozenQuantLinear>(lora.base_layer);

        manual_seed(4);
        var x = randn(2, 5, original.shape[1]);
        var (wq, input) = Independent(kind, original);
        var expected = matmul(input(x), wq.t()) + matmul(matmul(x, lora.lora_A.weight.detach().t()), lora.lora_B.weight.detach().t()) * lora.Scaling;
        var actual = lora.forward(x);
        double error = (actual - expected).abs().max().item<float>(), magnitude = expected.abs().max().item<float>();
        Assert.True(error <= 1e-4 * magnitude, $"max error {error} at magnitude {magnitude}");

        var ids = tensor(new long[] { 1, 17, 200, 31, 5, 99, 3000, 12 }).unsqueeze(0);
        var logits = pm.Model.Forward(ids);
        nn.functional.cross_entropy(logits[0, ..^1], ids[0, 1..]).backward();
        var withGrad = pm.Model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => p.name).ToList();
        Assert.NotEmpty(withGrad);
        Assert.All(withGrad, name => Assert.Matches(@"\.lora_[AB]\.weight$", name));
        Assert.Equal(LoraModel.Layers(pm.Model).Count * 2, withGrad.Count);
    }

    [Fact]
    public void SavedAdapterBringsItsQuantizedBaseWhenLoaded()
    {
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 17, 200, 31, 5, 99 }).unsqueeze(0);
        var spec = new QatSpec("nf4", activationBits: 8);
        Tensor trained;
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            spec.Freeze(pm.Model);
            var config = Config();
            LoraModel.Apply(pm.Model, config, seed: 5);
            trained = pm.Model.Forward(ids).detach().clone();
            AdapterIO.Save(pm.Model, config, Dir, spec);
        }
        Assert.Equal(spec, QatManifest.Load(Dir, QatManifest.AdapterFile));
        using var fresh = PretrainedModel.Load(TestData.TinyLlamaDir);
        AdapterIO.Load(fresh.Model, Dir);
        Assert.IsType<FrozenQuantLinear>(LoraModel.Layers(fresh.Model).First().Layer.base_layer);
        Assert.True(fresh.Model.Forward(ids).allclose(trained, rtol: 1e-5, atol: 1e-5));
    }
}
