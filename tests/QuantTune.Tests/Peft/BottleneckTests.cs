using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Peft.Bottleneck;
using QuantTune.Peft.Ia3;
using static QuantTune.Tests.Peft.PeftTestSupport;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

public sealed class BottleneckTests
{
    [Theory]
    [InlineData(BottleneckPlacement.Attention)]
    [InlineData(BottleneckPlacement.Mlp)]
    [InlineData(BottleneckPlacement.Both)]
    public void ZeroUpProjectionLeavesTheLogitsUnchanged(BottleneckPlacement placement)
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var before = Logits(pm.Model, ids);
        var applied = BottleneckModel.Apply(pm.Model, new BottleneckConfig { Placement = placement }, seed: 5);
        AssertIdentical(before, Logits(pm.Model, ids));
        int perLayer = placement == BottleneckPlacement.Both ? 2 : 1;
        Assert.Equal(perLayer * pm.Config.NumLayers, applied.Modules.Count);
    }

    [Fact]
    public void OnlyTheAdaptersTrain()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        long h = pm.Config.HiddenSize, b = 64;
        var applied = BottleneckModel.Apply(pm.Model, new BottleneckConfig(), seed: 5);
        // Two adapters per layer, each down (h·b + b) and up (b·h + h).
        long expected = 2 * pm.Config.NumLayers * (h * b + b + b * h + h);
        Assert.Equal(264_704, expected);
        Assert.Equal(expected, applied.TrainableParameters);
        Assert.Equal(expected, Trainable(pm.Model));
        Assert.All(pm.Model.named_parameters().Where(p => p.parameter.requires_grad), p => Assert.Contains(".adapter_", p.name));
        var layer = (BottleneckLinear)pm.Model.model.layers[1].self_attn!.o_proj;
        Assert.Equal(0, layer.adapter_up.weight.abs().sum().item<float>());
        Assert.True(layer.adapter_down.weight.abs().sum().item<float>() > 0);
        double bound = 1 / Math.Sqrt(h);
        Assert.True(layer.adapter_down.weight.abs().max().item<float>() <= bound);
    }

    [Fact]
    public void TheSameSeedGivesTheSameAdapters()
    {
        using var a = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var b = PretrainedModel.Load(TestData.TinyLlamaDir);
        BottleneckModel.Apply(a.Model, new BottleneckConfig(), seed: 9);
        BottleneckModel.Apply(b.Model, new BottleneckConfig(), seed: 9);
        var wa = ((BottleneckLinear)((QuantTune.Models.Transformer.Mlp)a.Model.model.layers[2].mlp).down_proj).adapter_down.weight;
        var wb = ((BottleneckLinear)((QuantTune.Models.Transformer.Mlp)b.Model.model.layers[2].mlp).down_proj).adapter_down.weight;
        Assert.True(wa.eq(wb).all().item<bool>());
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(21);
        var linear = new Linear(5, 6, true, ScalarType.Float64);
        linear.ResetParameters(g);
        var layer = new BottleneckLinear(linear, 6, 3, ScalarType.Float64, CPU, g);
        // Move up away from zero, else every gradient but up's is zero and the check is weak.
        using (no_grad())
        {
            layer.adapter_up.weight.copy_(randn([6, 3], ScalarType.Float64, generator: g));
            layer.adapter_up.bias!.copy_(randn([6], ScalarType.Float64, generator: g));
        }
        var x = randn([2, 5], ScalarType.Float64, generator: g).requires_grad_(true);
        var r = randn([2, 6], ScalarType.Float64, generator: g);
        GradCheck(() => (layer.forward(x) * r).sum(),
            [layer.adapter_down.weight, layer.adapter_down.bias!, layer.adapter_up.weight, layer.adapter_up.bias!, x]);
    }

    [Fact]
    public void ComputesTheResidualBottleneck()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(2);
        var linear = new Linear(5, 6, false, ScalarType.Float64);
        linear.ResetParameters(g);
        var layer = new BottleneckLinear(linear, 6, 3, ScalarType.Float64, CPU, g);
        using (no_grad()) layer.adapter_up.weight.copy_(randn([6, 3], ScalarType.Float64, generator: g));
        var x = randn([4, 5], ScalarType.Float64, generator: g);
        var h = x.matmul(linear.weight.detach().t());
        var down = h.matmul(layer.adapter_down.weight.detach().t()) + layer.adapter_down.bias!.detach();
        var gelu = 0.5 * down * (1 + special.erf(down / Math.Sqrt(2)));
        var expected = h + gelu.matmul(layer.adapter_up.weight.detach().t());
        Assert.True(allclose(layer.forward(x), expected, rtol: 1e-12, atol: 1e-12));
    }

    [Fact]
    public void SaveThenLoadReproducesTheLogits()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var ids = Ids();
        var config = new BottleneckConfig { BottleneckSize = 16, Placement = BottleneckPlacement.Mlp, BaseModelNameOrPath = "tiny-llama" };
        Tensor expected;
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            BottleneckModel.Apply(pm.Model, config, seed: 3);
            PerturbTrainable(pm.Model, 12);
            expected = Logits(pm.Model, ids);
            BottleneckModel.Save(pm.Model, config, dir.Path);
        }
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")))!;
        Assert.Equal("BOTTLENECK", (string?)json["peft_type"]);
        Assert.Equal(16, (int?)json["bottleneck"]);
        Assert.Equal("mlp", (string?)json["placement"]);
        using var fresh = PretrainedModel.Load(TestData.TinyLlamaDir);
        var (loaded, _) = BottleneckModel.Load(fresh.Model, dir.Path);
        Assert.Equal(config, loaded);
        AssertIdentical(expected, Logits(fresh.Model, ids));
    }

    [Fact]
    public void LoadErrorsNameTheProblem()
    {
        using var dir = new TempDir();
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            BottleneckModel.Apply(pm.Model, new BottleneckConfig { BottleneckSize = 8 }, seed: 3);
            BottleneckModel.Save(pm.Model, new BottleneckConfig { BottleneckSize = 8 }, dir.Sub("adapter"));
        }
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);

        // Missing folder content.
        Directory.CreateDirectory(dir.Sub("empty"));
        var missing = Assert.Throws<QuantTuneException>(() => BottleneckModel.Load(model.Model, dir.Sub("empty")));
        Assert.Contains("adapter_config.json", missing.Message);

        // Another method's folder.
        var wrongType = Assert.Throws<InvalidFormatException>(() => Ia3Model.Load(model.Model, dir.Sub("adapter")));
        Assert.Equal("peft_type", wrongType.Field);
        Assert.Contains("BOTTLENECK", wrongType.Message);

        // A config that disagrees with the tensors: the key and both shapes are named.
        var configPath = Path.Combine(dir.Sub("adapter"), "adapter_config.json");
        var json = JsonNode.Parse(File.ReadAllText(configPath))!;
        json["bottleneck"] = 4;
        File.WriteAllText(configPath, json.ToJsonString());
        var shape = Assert.Throws<InvalidFormatException>(() => BottleneckModel.Load(model.Model, dir.Sub("adapter")));
        Assert.Contains("adapter_", shape.Field);
        Assert.Contains("[8, 256]", shape.Message);
        Assert.Contains("[4, 256]", shape.Message);

        // Weights missing.
        json["bottleneck"] = 8;
        File.WriteAllText(configPath, json.ToJsonString());
        File.Delete(Path.Combine(dir.Sub("adapter"), "adapter_model.safetensors"));
        using var model2 = PretrainedModel.Load(TestData.TinyLlamaDir);
        var noWeights = Assert.Throws<QuantTuneException>(() => BottleneckModel.Load(model2.Model, dir.Sub("adapter")));
        Assert.Contains("adapter_model.safetensors", noWeights.Message);
    }
}
