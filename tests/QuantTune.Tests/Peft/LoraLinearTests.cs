using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

public sealed class LoraLinearTests
{
    static Linear DenseLayer(long inF, long outF, ScalarType dtype, long seed)
    {
        var layer = new Linear(inF, outF, true, dtype);
        using var g = new Generator((ulong)seed);
        layer.ResetParameters(g);
        return layer;
    }

    [Fact]
    public void ZeroBLeavesTheModelLogitsUnchangedBitForBit()
    {
        using var scope = NewDisposeScope();
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var ids = tensor(new long[] { 5, 17, 300, 42, 7, 1000, 9, 88 }).unsqueeze(0);
        Tensor before, after;
        using (inference_mode()) before = model.Model.Forward(ids);
        var paths = LoraModel.Apply(model.Model, new LoraConfig { R = 8, LoraAlpha = 16, TargetModules = PeftTargets.AllLinearLayers }, seed: 3);
        Assert.Equal(28, paths.Count);
        using (inference_mode()) after = model.Model.Forward(ids);
        Assert.True(before.equal(after).all().item<bool>(), "B = 0 changed the logits");
    }

    [Fact]
    public void ApplyFreezesTheBaseAndInitialisesReproduciblyAsPeft()
    {
        using var scope = NewDisposeScope();
        using var m1 = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var m2 = PretrainedModel.Load(TestData.TinyLlamaDir);
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = PeftTargets.FromNames("q_proj", "v_proj") };
        LoraModel.Apply(m1.Model, config, seed: 11);
        LoraModel.Apply(m2.Model, config, seed: 11);
        var trainable = LoraModel.TrainableParameters(m1.Model);
        Assert.Equal(16, trainable.Count);
        Assert.All(trainable, p => Assert.Matches(@"\.(q|v)_proj\.lora_(A|B)\.weight$", p.Name));
        Assert.Equal(4L * (4 * 256 + 4 * 256 + 4 * 256 + 4 * 128), trainable.Sum(p => p.Count));
        var a1 = LoraModel.Layers(m1.Model)[0].Layer;
        var a2 = LoraModel.Layers(m2.Model)[0].Layer;
        Assert.True(a1.lora_A.weight.equal(a2.lora_A.weight).all().item<bool>(), "the same seed gave different A");
        Assert.Equal(0, a1.lora_B.weight.abs().max().item<float>());
        double bound = 1 / Math.Sqrt(256);
        Assert.True(a1.lora_A.weight.abs().max().item<float>() <= bound);
        Assert.True(a1.lora_A.weight.abs().max().item<float>() > 0.9 * bound, "A is not uniform(±1/√in)");
        Assert.Equal(2.0, a1.Scaling);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergeThenUnmergeRestoresTheWeightAndMergedForwardEqualsUnmerged(bool dora)
    {
        using var scope = NewDisposeScope();
        var dense = DenseLayer(48, 40, ScalarType.Float32, 1);
        var original = dense.weight.detach().clone();
        using var g = new Generator(2);
        var lora = new LoraLinear(dense, 4, 8, useDora: dora, generator: g, zeroB: false);
        if (dora) using (no_grad()) lora.lora_magnitude_vector!.mul_(rand(40, generator: g) + 0.5);
        var x = randn(3, 7, 48);
        Tensor unmerged, merged;
        using (no_grad()) unmerged = lora.forward(x);
        Assert.True(lora.Merge());
        Assert.False(lora.Merge());
        Assert.True(lora.Merged);
        using (no_grad()) merged = lora.forward(x);
        double forwardError = (merged - unmerged).abs().max().item<float>();
        Assert.True(forwardError <= 1e-5, $"merged forward differs by {forwardError}");
        Assert.True((dense.weight - original).abs().max().item<float>() > 1e-3, "merge did not change W");
        Assert.True(lora.Unmerge());
        Assert.False(lora.Unmerge());
        double weightError = (dense.weight - original).abs().max().item<float>();
        Assert.True(weightError <= 1e-6, $"unmerge left W off by {weightError}");
    }

    [Fact]
    public void LoraGradientsMatchCentralDifferences()
    {
        using var scope = NewDisposeScope();
        var dense = DenseLayer(6, 5, ScalarType.Float64, 4);
        using var g = new Generator(5);
        var lora = new LoraLinear(dense, 2, 3, useRsLora: true, dtype: ScalarType.Float64, generator: g, zeroB: false);
        var x = randn([4, 6], ScalarType.Float64, generator: g);
        var upstream = randn([4, 5], ScalarType.Float64, generator: g);
        double Loss() { using var _ = no_grad(); return (lora.forward(x) * upstream).sum().item<double>(); }

        // Independent reference for the forward: x Wᵀ + b + (α/√r)·x Aᵀ Bᵀ.
        var expected = x.matmul(dense.weight.t()) + dense.bias! + 3 / Math.Sqrt(2) * x.matmul(lora.lora_A.weight.t()).matmul(lora.lora_B.weight.t());
        Assert.True((lora.forward(x) - expected).abs().max().item<double>() < 1e-12);

        (lora.forward(x) * upstream).sum().backward();
        Assert.Null(dense.weight.grad);
        GradientCheck.AgainstCentralDifferences(lora.lora_A.weight, Loss);
        GradientCheck.AgainstCentralDifferences(lora.lora_B.weight, Loss);
    }

    [Fact]
    public void DoraForwardAndGradientsMatchPeftsFormulaWithTheNormHeldConstant()
    {
        using var scope = NewDisposeScope();
        var dense = DenseLayer(6, 5, ScalarType.Float64, 6);
        using var g = new Generator(7);
        var lora = new LoraLinear(dense, 2, 4, useDora: true, dtype: ScalarType.Float64, generator: g, zeroB: false);
        var m = lora.lora_magnitude_vector!;
        var w = dense.weight.detach();
        double s = 4 / 2.0;
        // m starts as ‖W + s·BA‖ per row (PEFT's lora_magnitude_vector); move it away from that.
        var norm0 = (w + s * lora.lora_B.weight.detach().matmul(lora.lora_A.weight.detach())).pow(2).sum(1).sqrt();
        Assert.True((m.detach() - norm0).abs().max().item<double>() < 1e-12);
        using (no_grad()) m.mul_(rand([5], ScalarType.Float64, generator: g) + 0.5);

        var x = randn([4, 6], ScalarType.Float64, generator: g);
        var upstream = randn([4, 5], ScalarType.Float64, generator: g);
        // y = m/‖W + s·BA‖ ⊙ (x Wᵀ + s·x Aᵀ Bᵀ) + b, with the norm a constant (PEFT detaches it).
        Tensor Reference(Tensor a, Tensor b) =>
            (m.detach() / norm0) * (x.matmul(w.t()) + s * x.matmul(a.t()).matmul(b.t())) + dense.bias!.detach();
        Assert.True((lora.forward(x) - Reference(lora.lora_A.weight.detach(), lora.lora_B.weight.detach())).abs().max().item<double>() < 1e-12);

        (lora.forward(x) * upstream).sum().backward();
        // Differences of the formula with the norm frozen at its value for the unperturbed A and B.
        double ReferenceLoss() { using var _ = no_grad(); return (Reference(lora.lora_A.weight, lora.lora_B.weight) * upstream).sum().item<double>(); }
        GradientCheck.AgainstCentralDifferences(lora.lora_A.weight, ReferenceLoss);
        GradientCheck.AgainstCentralDifferences(lora.lora_B.weight, ReferenceLoss);
        double Loss() { using var _ = no_grad(); return (lora.forward(x) * upstream).sum().item<double>(); }
        GradientCheck.AgainstCentralDifferences(m, Loss);
    }

    [Fact]
    public void QLoraTrainsTheAdapterOverAFrozenFourBitBaseAndRefusesToMerge()
    {
        using var scope = NewDisposeScope();
        var weight = randn(96, 128) * 0.05;
        var q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(weight, ScalarType.Float32);
        var baseLayer = new QuantizedLinear(q, randn(96) * 0.1);
        using var g = new Generator(8);
        var lora = new LoraLinear(baseLayer, 4, 8, dropout: 0.1, generator: g, zeroB: false);
        var x = randn(2, 3, 128).requires_grad_(true);
        var y = lora.forward(x);
        var reference = nn.functional.linear(x, q.Dequantize(), baseLayer.bias);
        Assert.True((y - reference).abs().max().item<float>() > 1e-4, "the adapter changed nothing");
        y.square().sum().backward();
        Assert.True(lora.lora_A.weight.grad!.abs().max().item<float>() > 0);
        Assert.True(lora.lora_B.weight.grad!.abs().max().item<float>() > 0);
        Assert.All(baseLayer.parameters(), p => { Assert.False(p.requires_grad); Assert.Null(p.grad); });
        Assert.NotNull(x.grad);
        var e = Assert.Throws<QuantTuneException>(() => lora.Merge());
        Assert.Contains("4-bit", e.Message);
        Assert.Contains("full-precision", e.Message);
        Assert.False(lora.Merged);
    }

    [Fact]
    public void QDoraGetsAMagnitudeFromTheDequantizedWeight()
    {
        using var scope = NewDisposeScope();
        var q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(randn(32, 64), ScalarType.Float32);
        var lora = new LoraLinear(new QuantizedLinear(q, null), 4, 8, useDora: true);
        double error = (lora.lora_magnitude_vector! - q.Dequantize().pow(2).sum(1).sqrt()).abs().max().item<float>();
        Assert.True(error < 1e-5);
        var x = randn(5, 64);
        // B = 0 and m = ‖W‖: DoRA starts as the identity update too.
        Assert.True((lora.forward(x) - nn.functional.linear(x, q.Dequantize())).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void DropoutActsOnlyInTraining()
    {
        using var scope = NewDisposeScope();
        var lora = new LoraLinear(DenseLayer(16, 8, ScalarType.Float32, 9), 4, 8, dropout: 0.5, zeroB: false);
        var x = randn(4, 16);
        lora.eval();
        Assert.True(lora.forward(x).equal(lora.forward(x)).all().item<bool>());
        lora.train();
        manual_seed(1);
        var a = lora.forward(x);
        var b = lora.forward(x);
        Assert.False(a.equal(b).all().item<bool>(), "dropout had no effect in training");
    }
}
