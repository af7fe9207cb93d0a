using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;

namespace QuantTune.Tests.Models.MixtureOfExperts;

/// <summary>Qwen3-MoE's config.json as the shared decoder sees it: Qwen3's attention, the experts' keys, which layers are sparse, the refusals, and the module names of the checkpoint.</summary>
public sealed class Qwen3MoeConfigTests
{
    const string Core = """
        "model_type": "qwen3_moe", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 6, "num_attention_heads": 4, "head_dim": 32
        """;

    static ModelConfig Parse(string body) => ModelConfig.Parse("{" + Core + (body.Length > 0 ? ", " + body : "") + "}", "config.json");

    [Fact]
    public void TheFixtureIsQwen3WithExpertsOnItsSparseLayers()
    {
        var c = ModelConfig.Load(TestData.TinyQwen3MoeDir);
        Assert.IsType<Qwen3MoeFamily>(c.Family);
        Assert.True(c.QkNorm);
        Assert.Equal(1e6, c.Rope.Theta);
        var m = c.Experts!;
        Assert.Equal((8, 2, 32, true, 0.001), (m.NumExperts, m.ExpertsPerToken, m.ExpertIntermediateSize, m.NormTopKProb, m.RouterAuxLossCoef));
        Assert.Equal([true, false, true], Enumerable.Range(0, 3).Select(c.IsSparse));
    }

    [Fact]
    public void QwenMoeDefaultsAndTheSparseStepFollowQwen3MoeConfig()
    {
        var m = Parse("").Experts!;
        Assert.Equal((128, 8, 768, false, 1, 0.001), (m.NumExperts, m.ExpertsPerToken, m.ExpertIntermediateSize, m.NormTopKProb, m.SparseStep, m.RouterAuxLossCoef));
        // (layer + 1) % decoder_sparse_step == 0 and not in mlp_only_layers
        var c = Parse("\"decoder_sparse_step\": 2, \"mlp_only_layers\": [3], \"num_experts\": 4, \"num_experts_per_tok\": 2");
        Assert.Equal([false, true, false, false, false, true], Enumerable.Range(0, 6).Select(c.IsSparse));
        Assert.Null(ModelConfig.Parse("{\"model_type\": \"qwen3\", " + Core[(Core.IndexOf(',') + 1)..] + "}").Experts);
    }

    [Theory]
    [InlineData("\"num_experts\": 4, \"num_experts_per_tok\": 5", "num_experts_per_tok", "expected 1 to num_experts (4)")]
    [InlineData("\"num_experts\": 0", "num_experts", "is 0")]
    [InlineData("\"moe_intermediate_size\": 0", "moe_intermediate_size", "is 0")]
    [InlineData("\"decoder_sparse_step\": 0", "decoder_sparse_step", "is 0")]
    [InlineData("\"mlp_only_layers\": [6]", "mlp_only_layers", "holds 6")]
    [InlineData("\"mlp_only_layers\": 3", "mlp_only_layers", "array")]
    [InlineData("\"router_aux_loss_coef\": -1", "router_aux_loss_coef", "is -1")]
    public void ABadExpertKeyIsRefusedNamingTheFileAndTheKey(string body, string key, string problem)
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => Parse(body));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(key, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void TheModulesCarryTheCheckpointsNamesAndTheRouterIsNoLinear()
    {
        using var pm = PretrainedModel.Load(TestData.TinyQwen3MoeDir);
        Assert.Empty(pm.UnusedKeys);
        var names = pm.Model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.layers.0.mlp.gate.weight", names);
        Assert.Contains("model.layers.2.mlp.experts.7.down_proj.weight", names);
        Assert.Contains("model.layers.1.mlp.gate_proj.weight", names);
        Assert.DoesNotContain("model.layers.1.mlp.gate.weight", names);
        Assert.IsType<SparseMoeBlock>(pm.Model.model.layers[0].mlp);
        Assert.IsType<Mlp>(pm.Model.model.layers[1].mlp);
        var linears = QuantTune.Peft.PeftTargets.LinearPaths(pm.Model);
        Assert.Contains("model.layers.0.mlp.experts.3.up_proj", linears);
        Assert.DoesNotContain("model.layers.0.mlp.gate", linears);
    }
}
