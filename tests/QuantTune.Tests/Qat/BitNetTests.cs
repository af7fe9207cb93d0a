using QuantTune.Models;
using QuantTune.Qat;
using static TorchSharp.torch;
using QLinear = QuantTune.Models.Layers.Linear;

namespace QuantTune.Tests.Qat;

public sealed class BitNetTests
{
    static QLinear NewLinear(long input, long output, bool bias, int seed)
    {
        var linear = new QLinear(input, output, bias, ScalarType.Float32);
        linear.ResetParameters(new Generator((ulong)seed));
        return linear;
    }

    [Fact]
    public void TernaryWeightsAreMinusZeroPlusOneTimesMeanAbs()
    {
        using var scope = NewDisposeScope();
        using var layer = new BitLinear158(NewLinear(64, 32, false, 1));
        var w = layer.weight.detach();
        double gamma = w.abs().mean().item<float>();
        var ratio = (layer.QuantizeWeight().detach() / gamma).data<float>().ToArray();
        var distinct = ratio.Select(v => Math.Round(v, 4)).Distinct().OrderBy(v => v).ToArray();
        Assert.Equal(new[] { -1.0, 0.0, 1.0 }, distinct);
        var (codes, g) = BitNetWeights.Ternary(w);
        Assert.Equal(gamma, g.item<float>(), 6);
        // Independent rule: round(clamp(w/γ)) elementwise.
        var ws = w.data<float>().ToArray();
        var cs = codes.data<float>().ToArray();
        for (int i = 0; i < ws.Length; i++)
            Assert.Equal(Math.Round(Math.Clamp(ws[i] / gamma, -1, 1), MidpointRounding.ToEven), cs[i]);
    }

    [Fact]
    public void OneBitWeightsArePlusMinusBeta()
    {
        using var scope = NewDisposeScope();
        using var layer = new BitLinear(NewLinear(64, 32, false, 2));
        var w = layer.weight.detach();
        double beta = w.abs().mean().item<float>();
        double mean = w.mean().item<float>();
        var wq = layer.QuantizeWeight().detach().data<float>().ToArray();
        var ws = w.data<float>().ToArray();
        for (int i = 0; i < ws.Length; i++)
            Assert.Equal(ws[i] - mean > 0 ? beta : -beta, wq[i], 6);
    }

    [Fact]
    public void ActivationsArePerToken8Bit()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 7, 16);
        var xq = FakeQuant.PerToken8Bit(x);
        var scale = 127 / x.abs().amax([-1], keepdim: true);
        var codes = xq * scale;
        Assert.True((codes - codes.round()).abs().max().item<float>() < 1e-3);
        Assert.True((xq - x).abs().le(0.5 / scale + 1e-6).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BitLinear158GradientsReachTheLatentWeightsAndSgdReducesTheLoss(bool oneBit)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var linear = NewLinear(32, 8, true, 3);
        using FakeQuantLinear layer = oneBit ? new BitLinear(linear) : new BitLinear158(linear);
        Assert.Same(linear.weight, layer.weight);
        Assert.Contains("weight", layer.named_parameters().Select(p => p.name));

        var x = randn(64, 32);
        // A target a ternary layer can fit: a ternary teacher.
        var teacher = randint(-1, 2, [8, 32]).to_type(ScalarType.Float32) * 0.1f;
        var target = matmul(x, teacher.t());
        var (first, last) = SgdFit.Run(layer, x, target, () =>
        {
            Assert.NotNull(layer.weight.grad);
            Assert.True(layer.weight.grad!.abs().sum().item<float>() > 0);
        });
        Assert.True(last < 0.7 * first, $"loss {first} → {last}");
    }

    sealed class TwoLayers : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> proj;
        public QLinear? lm_head;

        public TwoLayers() : base(nameof(TwoLayers))
        {
            proj = NewLinear(8, 8, false, 4);
            lm_head = NewLinear(8, 4, false, 5);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => lm_head!.forward(proj.forward(x));
    }

    [Theory]
    [InlineData(BitNetKind.BitNet158, typeof(BitLinear158))]
    [InlineData(BitNetKind.BitNet, typeof(BitLinear))]
    public void ConverterReplacesEveryLinearButTheHead(BitNetKind kind, Type expected)
    {
        using var scope = NewDisposeScope();
        using var model = new TwoLayers();
        var replaced = BitNetConverter.Convert(model, kind);
        Assert.Equal(["proj"], replaced);
        Assert.IsType(expected, model.proj);
        Assert.IsType<QLinear>(model.lm_head);
        Assert.IsType(expected, ModuleSurgery.Find(model, "proj"));
        Assert.Equal(new long[] { 2, 4 }, model.forward(randn(2, 8)).shape);
    }
}
