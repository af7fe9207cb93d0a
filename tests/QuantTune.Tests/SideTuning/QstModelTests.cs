using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Tests.SideTuning;

public sealed class QstModelTests
{
    static (PretrainedModel Pm, QstModel Qst) Build(QstConfig? config = null)
    {
        var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        ModelQuantizer.Quantize(pm.Model, new FourBitQuantizer(FourBitType.NF4, 64, true), ScalarType.BFloat16);
        return (pm, new QstModel(pm.Model, config ?? new QstConfig(), seed: 1));
    }

    [Fact]
    public void SideNetworkHasTheDocumentedShape()
    {
        var (pm, qst) = Build();
        using var _ = pm;
        Assert.Equal(16, qst.side.Config.HiddenSize);        // 256 / 16
        Assert.Equal(44, qst.side.Config.IntermediateSize);  // 704 / 16
        Assert.Equal(8, qst.side.Config.NumHeads);
        Assert.Equal(2, qst.side.Config.HeadDim);
        Assert.Equal(4, qst.side.downsamplers.Count);        // one per layer, the first also for the embeddings
        Assert.Equal(4, qst.side.layers.Count);
        Assert.All(qst.side.gates.data<float>().ToArray(), g => Assert.Equal(0.5f, g));
        Assert.All(qst.side.mix.data<float>().ToArray(), l => Assert.Equal(1.0f, l));
        Assert.Equal(28, pm.Model.named_modules().Count(m => m.module is QuantizedLinear));
    }

    [Fact]
    public void OutputMixEqualsTheFormulaAtInitialisation()
    {
        var (pm, qst) = Build();
        using var _ = pm;
        using var scope = NewDisposeScope();
        var side = randn(2, 5, 16);
        var backboneNormed = randn(2, 5, 256);
        var output = qst.side.Finish(side, backboneNormed);
        // Independently: σ(1.0) = 0.7310585786; RMSNorm(x) = x / √(mean(x²) + ε) · w; up(x) = x Wᵀ + b.
        const float s = 0.7310585786f;
        var normed = side / (side.pow(2).mean([-1], keepdim: true) + 1e-5).sqrt() * ((QuantTune.Models.Layers.RmsNorm)qst.side.norm).weight;
        var up = normed.matmul(qst.side.up.weight.t()) + qst.side.up.bias!;
        var expected = (1 - s) * up + s * backboneNormed;
        Assert.True((output - expected).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void GateMixesEachBackboneStateIntoTheSideStateAtOneHalfSigmoid()
    {
        var (pm, qst) = Build(new QstConfig { Downsampler = DownsamplerKind.AvgPool });
        using var _ = pm;
        using var scope = NewDisposeScope();
        var side = randn(1, 3, 16);
        var h = randn(1, 3, 256);
        var (cos, sin) = qst.side.RopeTables(0, 0, 3);
        var z = 1 / (1 + Math.Exp(-0.5));
        var mixed = (1 - z) * h.view(1, 3, 16, 16).mean([-1]) + z * side;  // avg-pool downsampler: mean of 16 consecutive features
        var expected = qst.side.layers[0].Forward(mixed.to_type(ScalarType.Float32), cos, sin, 0, 0, null);
        Assert.True((qst.side.Step(0, side, h, cos, sin) - expected).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void NoGradientReachesTheBackbone()
    {
        var (pm, qst) = Build();
        using var _ = pm;
        using var scope = NewDisposeScope();
        var ids = randint(0, 4096, [2, 32], dtype: ScalarType.Int64);
        var logits = qst.Forward(ids);
        nn.functional.cross_entropy(logits.reshape(-1, 4096), ids.reshape(-1)).backward();
        foreach (var (name, p) in pm.Model.named_parameters())
        {
            Assert.False(p.requires_grad, name);
            Assert.True(p.grad is null, name);
        }
        var sideParams = qst.side.named_parameters().ToList();
        Assert.All(sideParams, p => Assert.True(p.parameter.grad is not null, p.name));
        Assert.True(sideParams.Sum(p => p.parameter.grad!.abs().sum().item<float>()) > 0);
    }

    [Fact]
    public void ReductionThatDoesNotDivideIsRejected()
    {
        var config = ModelConfig.Load(TestData.TinyLlamaDir);
        Assert.Contains("hidden size", Assert.ThrowsAny<QuantTuneException>(() => new QstConfig { Reduction = 3 }.Validate(config)).Message);
        Assert.Contains("head", Assert.ThrowsAny<QuantTuneException>(() => new QstConfig { Reduction = 32 }.Validate(config)).Message);
        Assert.Contains("QstConfig.Layers = 0,7", Assert.ThrowsAny<QuantTuneException>(() => new QstConfig { Layers = [0, 7] }.Validate(config)).Message);
    }

    [Fact]
    public void SavedSideNetworkReloadsAndRefusesAnotherBase()
    {
        var dir = Directory.CreateTempSubdirectory("qt-qst-").FullName;
        try
        {
            var (pm, qst) = Build();
            using (pm)
            {
                using (no_grad()) qst.side.gates.add_(0.3);
                QstCheckpoint.Save(qst, TestData.TinyLlamaDir, "nf4-block64-dq", Path.Combine(dir, "side"));
                var info = QstCheckpoint.ReadInfo(Path.Combine(dir, "side"));
                var (pm2, qst2) = Build(QstCheckpoint.ConfigOf(info));
                using (pm2)
                {
                    QstCheckpoint.CheckBase(info, pm2.Config, Path.Combine(dir, "side"));
                    QstCheckpoint.LoadWeights(qst2, Path.Combine(dir, "side"));
                    using var scope = NewDisposeScope();
                    using var _ = no_grad();
                    var ids = randint(0, 4096, [1, 16], dtype: ScalarType.Int64);
                    Assert.True((qst.Forward(ids) - qst2.Forward(ids)).abs().max().item<float>() < 1e-5);
                }
                var qwen = ModelConfig.Load(TestData.TinyQwen2Dir);
                var e = Assert.ThrowsAny<QuantTuneException>(() => QstCheckpoint.CheckBase(info, qwen, Path.Combine(dir, "side")));
                Assert.Contains("another base model", e.Message);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
