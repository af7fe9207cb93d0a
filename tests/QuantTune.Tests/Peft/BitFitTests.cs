using System.Text.Json.Nodes;
using QuantTune.Models.Layers;
using QuantTune.Models.Loading;
using QuantTune.Peft.BitFit;
using static QuantTune.Tests.Peft.PeftTestSupport;
using static TorchSharp.torch;

namespace QuantTune.Tests.Peft;

public sealed class BitFitTests
{
    /// <summary>Output features of the seven projections of one decoder layer.</summary>
    static long BiasesPerLayer(QuantTune.Models.Config.ModelConfig c) =>
        c.NumHeads * c.HeadDim + 2L * c.NumKvHeads * c.HeadDim + c.HiddenSize // q, k, v, o
        + 2L * c.IntermediateSize + c.HiddenSize;                             // gate, up, down

    [Fact]
    public void ZeroBiasesLeaveTheLogitsUnchanged()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var before = Logits(pm.Model, ids);
        BitFitModel.Apply(pm.Model, new BitFitConfig());
        AssertIdentical(before, Logits(pm.Model, ids));
    }

    [Fact]
    public void LlamaGetsNewBiasesOnEveryLinearButTheHead()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var applied = BitFitModel.Apply(pm.Model, new BitFitConfig());
        long expected = pm.Config.NumLayers * BiasesPerLayer(pm.Config);
        Assert.Equal(9728, expected);
        Assert.Equal(expected, applied.TrainableParameters);
        Assert.Equal(expected, Trainable(pm.Model));
        Assert.Equal(7 * pm.Config.NumLayers, applied.Modules.Count);
        Assert.DoesNotContain("lm_head", applied.Modules);
        Assert.IsType<Linear>(pm.Model.lm_head);
        Assert.All(pm.Model.named_parameters().Where(p => p.parameter.requires_grad), p => Assert.EndsWith(".bias", p.name));
        Assert.Contains(pm.Model.named_parameters(), p => p.name == "model.layers.0.mlp.down_proj.bias" && p.parameter.requires_grad);
    }

    [Fact]
    public void Qwen2TrainsItsOwnQkvBiasesAndAddsTheRest()
    {
        using var pm = PretrainedModel.Load(TestData.TinyQwen2Dir);
        Assert.True(pm.Config.QkvBias);
        var applied = BitFitModel.Apply(pm.Model, new BitFitConfig());
        Assert.Equal(pm.Config.NumLayers * BiasesPerLayer(pm.Config), applied.TrainableParameters);
        var attn = pm.Model.model.layers[0].self_attn!;
        var q = Assert.IsType<Linear>(attn.q_proj);
        Assert.True(q.bias!.requires_grad);
        Assert.False(q.weight.requires_grad);
        Assert.IsType<BitFitLinear>(attn.o_proj);
    }

    /// <summary>
    /// On a bf16 base (mixed-precision fine-tuning) Qwen2's own q/k/v biases move to fp32
    /// BitFitLinear biases holding the same values under the same keys; the frozen weight is kept.
    /// </summary>
    [Fact]
    public void Qwen2InBf16TrainsItsOwnBiasesInFp32()
    {
        using var pm = PretrainedModel.Load(TestData.TinyQwen2Dir, ScalarType.BFloat16);
        using var scope = NewDisposeScope();
        var ids = Ids();
        var before = Logits(pm.Model, ids).to_type(ScalarType.Float32);
        var attn = pm.Model.model.layers[0].self_attn!;
        var original = Assert.IsType<Linear>(attn.q_proj);
        var bias = original.bias!.detach().clone();
        var weight = original.weight.detach().clone();
        BitFitModel.Apply(pm.Model, new BitFitConfig());
        var q = Assert.IsType<BitFitLinear>(attn.q_proj);
        Assert.Equal(ScalarType.Float32, q.bias.dtype);
        Assert.True(q.bias.requires_grad);
        Assert.True(q.bias.equal(bias.to_type(ScalarType.Float32)).all().item<bool>());
        var inner = Assert.IsType<Linear>(q.base_layer);
        Assert.Null(inner.bias);
        Assert.False(inner.weight.requires_grad);
        Assert.True(inner.weight.equal(weight).all().item<bool>());
        Assert.All(pm.Model.named_parameters().Where(p => p.parameter.requires_grad), p => Assert.Equal(ScalarType.Float32, p.parameter.dtype));
        Assert.Contains(pm.Model.named_parameters(), p => p.name == "model.layers.0.self_attn.q_proj.bias" && p.parameter.requires_grad);
        // The bias is now added after the matmul instead of inside it: at most bf16 rounding apart.
        var after = Logits(pm.Model, ids).to_type(ScalarType.Float32);
        double diff = (after - before).abs().max().item<float>(), scale = before.abs().max().item<float>();
        Assert.True(diff <= 0.02 * scale, $"logits moved by {diff} (max |logit| {scale})");
    }

    [Fact]
    public void BiasesAreAddedToTheOutput()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        var linear = new Linear(3, 4, false, ScalarType.Float64);
        linear.ResetParameters(g);
        var layer = new BitFitLinear(linear, 4, ScalarType.Float64, CPU);
        using (no_grad()) layer.bias.copy_(randn([4], ScalarType.Float64, generator: g));
        var x = randn([2, 3], ScalarType.Float64, generator: g);
        Assert.True(allclose(layer.forward(x), x.matmul(linear.weight.detach().t()) + layer.bias.detach()));
    }

    [Fact]
    public void SaveThenLoadReproducesTheLogits()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var ids = Ids();
        var config = new BitFitConfig();
        Tensor expected;
        using (var pm = PretrainedModel.Load(TestData.TinyLlamaDir))
        {
            BitFitModel.Apply(pm.Model, config);
            PerturbTrainable(pm.Model, 13);
            expected = Logits(pm.Model, ids);
            BitFitModel.Save(pm.Model, config, dir.Path);
        }
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")))!;
        Assert.Equal("BITFIT", (string?)json["peft_type"]);
        using (var file = QuantTune.Formats.Safetensors.SafetensorsFile.Open(Path.Combine(dir.Path, "adapter_model.safetensors")))
        {
            Assert.Equal(28, file.Tensors.Count);
            Assert.Equal([704L], file.Info("model.layers.2.mlp.up_proj.bias").Shape);
        }
        using var fresh = PretrainedModel.Load(TestData.TinyLlamaDir);
        BitFitModel.Load(fresh.Model, dir.Path);
        AssertIdentical(expected, Logits(fresh.Model, ids));
    }

    [Fact]
    public void ATargetThatMatchesNothingIsNamed()
    {
        using var pm = PretrainedModel.Load(TestData.TinyLlamaDir);
        var e = Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => BitFitModel.Apply(pm.Model, new BitFitConfig { TargetModules = ["qkv_proj"] }));
        Assert.Contains("'qkv_proj'", e.Message);
    }
}
