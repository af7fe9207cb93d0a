using QuantTune.Qat;
using QuantTune.Quantization;
using static TorchSharp.torch;
using QLinear = QuantTune.Models.Layers.Linear;

namespace QuantTune.Tests.Qat;

public sealed class QatLinearTests
{
    public static TheoryData<string> Configurations => ["int4", "int4-learnable-scale", "int4-w4a8", "nf4"];

    static QatOptions Options(string name) => name switch
    {
        "int4" => new QatOptions(Bits: 4),
        "int4-learnable-scale" => new QatOptions(Bits: 4, LearnableScale: true),
        "int4-w4a8" => new QatOptions(Bits: 4, ActivationBits: 8),
        _ => new QatOptions(Scheme: QuantizationSchemes.Create(new SchemeOptions("nf4", Block: 32))),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void GradientsReachTheLatentWeightsAndSgdReducesTheLoss(string configuration)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var linear = new QLinear(32, 8, true, ScalarType.Float32);
        linear.ResetParameters(new Generator(7));
        using var layer = new QatLinear(linear, Options(configuration));
        var x = randn(64, 32);
        var target = matmul(x, randn(8, 32).t() * 0.2f) + 0.1f;
        var (first, last) = SgdFit.Run(layer, x, target, () =>
        {
            Assert.True(layer.weight.grad!.abs().sum().item<float>() > 0);
            Assert.True(layer.bias!.grad!.abs().sum().item<float>() > 0);
        });
        Assert.True(last < 0.7 * first, $"loss {first} → {last}");
    }

    [Fact]
    public void ForwardUsesTheFakeQuantizedWeight()
    {
        using var scope = NewDisposeScope();
        var linear = new QLinear(16, 4, false, ScalarType.Float32);
        linear.ResetParameters(new Generator(1));
        using var layer = new QatLinear(linear, new QatOptions(Bits: 4, Granularity: QuantGranularity.PerTensor));
        var x = randn(3, 16);
        var w = linear.weight.detach();
        double s = w.abs().max().item<float>() / 7.0;
        var reference = matmul(x, ((w / s).round().clamp(-7, 7) * s).t());
        Assert.True((layer.forward(x) - reference).abs().max().item<float>() < 1e-5);
        Assert.Equal(["weight"], layer.named_parameters().Select(p => p.name));
    }
}
