using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Peft.Ia3;
using static QuantTune.Tests.Peft.PeftTestSupport;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

public sealed class Ia3Tests
{
    [Fact]
    public void OnesLeaveTheLogitsUnchanged()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var before = Logits(pm.Model, ids);
        Ia3Model.Apply(pm.Model, new Ia3Config(), seed: 1);
        AssertIdentical(before, Logits(pm.Model, ids));
    }

    [Fact]
    public void OnlyTheScalingVectorsTrain()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var c = pm.Config;
        var applied = Ia3Model.Apply(pm.Model, new Ia3Config(), seed: 1);
        // k and v scale their outputs (kv heads × head dim each), down_proj its input (intermediate size).
        long expected = c.NumLayers * (2L * c.NumKvHeads * c.HeadDim + c.IntermediateSize);
        Assert.Equal(3840, expected);
        Assert.Equal(expected, applied.TrainableParameters);
        Assert.Equal(expected, Trainable(pm.Model));
        Assert.Equal(3 * c.NumLayers, applied.Modules.Count);
        var trainable = pm.Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.All(trainable, n => Assert.EndsWith(".ia3_l", n));
        var layer = (Ia3Linear)((QuantTune.Models.Transformer.Mlp)pm.Model.model.layers[0].mlp).down_proj;
        Assert.Equal([1, c.IntermediateSize], layer.ia3_l.shape);
        var k = (Ia3Linear)pm.Model.model.layers[0].self_attn!.k_proj!;
        Assert.Equal([c.NumKvHeads * c.HeadDim, 1], k.ia3_l.shape);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GradientsMatchFiniteDifferences(bool feedforward)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(7);
        var linear = new Linear(5, 4, true, ScalarType.Float64);
        linear.ResetParameters(g);
        var layer = new Ia3Linear(linear, 5, 4, feedforward, ScalarType.Float64, CPU);
        using (no_grad()) layer.ia3_l.copy_(randn(layer.ia3_l.shape, ScalarType.Float64, generator: g));
        var x = randn([3, 5], ScalarType.Float64, generator: g).requires_grad_(true);
        var r = randn([3, 4], ScalarType.Float64, generator: g);
        GradCheck(() => (layer.forward(x) * r).sum(), [layer.ia3_l, x, linear.weight]);
    }

    [Fact]
    public void ScalesTheOutputOrTheInputAsDefined()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var linear = new Linear(5, 4, false, ScalarType.Float64);
        linear.ResetParameters(g);
        var x = randn([2, 5], ScalarType.Float64, generator: g);
        var lOut = randn([4], ScalarType.Float64, generator: g);
        var lIn = randn([5], ScalarType.Float64, generator: g);
        var outLayer = new Ia3Linear(linear, 5, 4, false, ScalarType.Float64, CPU);
        var inLayer = new Ia3Linear(linear, 5, 4, true, ScalarType.Float64, CPU);
        using (no_grad())
        {
            outLayer.ia3_l.copy_(lOut.view(4, 1));
            inLayer.ia3_l.copy_(lIn.view(1, 5));
        }
        var w = linear.weight.detach();
        Assert.True(allclose(outLayer.forward(x), x.matmul(w.t()) * lOut));
        Assert.True(allclose(inLayer.forward(x), (x * lIn).matmul(w.t())));
    }

    [Fact]
    public void SaveThenLoadReproducesTheLogits()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var ids = Ids();
        Tensor expected;
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            var config = new Ia3Config { BaseModelNameOrPath = "tiny-llama" };
            Ia3Model.Apply(pm.Model, config, seed: 1);
            PerturbTrainable(pm.Model, 11);
            expected = Logits(pm.Model, ids);
            Ia3Model.Save(pm.Model, config, dir.Path);
        }
        Assert.True(File.Exists(Path.Combine(dir.Path, "adapter_config.json")));
        using var file = QuantTune.Formats.Safetensors.SafetensorsFile.Open(Path.Combine(dir.Path, "adapter_model.safetensors"));
        Assert.Equal([128L, 1], file.Info("base_model.model.model.layers.0.self_attn.k_proj.ia3_l").Shape);
        Assert.Equal([1L, 704], file.Info("base_model.model.model.layers.3.mlp.down_proj.ia3_l").Shape);
        using var fresh = PretrainedModel.Load(TestData.TinyLlamaDir);
        var (loadedConfig, _) = Ia3Model.Load(fresh.Model, dir.Path);
        Assert.Equal(["k_proj", "v_proj", "down_proj"], loadedConfig.TargetModules);
        AssertIdentical(expected, Logits(fresh.Model, ids));
    }

    [Fact]
    public void ATargetThatMatchesNothingIsNamed()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var e = Assert.Throws<QuantTuneException>(() => Ia3Model.Apply(pm.Model, new Ia3Config { TargetModules = ["k_proj", "nope_proj"], FeedforwardModules = [] }));
        Assert.Contains("'nope_proj'", e.Message);
    }

    [Fact]
    public void AFeedforwardModuleMustBeATarget()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var e = Assert.Throws<QuantTuneException>(() => Ia3Model.Apply(pm.Model, new Ia3Config { TargetModules = ["k_proj"], FeedforwardModules = ["down_proj"] }));
        Assert.Contains("down_proj", e.Message);
    }
}
