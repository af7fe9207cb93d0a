using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;

namespace QuantTune.Tests.Peft;

public sealed class PeftTargetsAndConfigTests
{
    [Fact]
    public void TargetsSelectByNameSuffixAllLinearOrFullMatchRegex()
    {
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var all = PeftTargets.AllLinearLayers.Resolve(model.Model);
        Assert.Equal(28, all.Count);
        Assert.DoesNotContain("lm_head", all);

        Assert.Equal(4, PeftTargets.FromNames("self_attn.o_proj").Resolve(model.Model).Count);
        Assert.Equal(
            ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"],
            PeftTargets.FromPattern(@"model\.layers\.[01]\.self_attn\.(q|v)_proj").Resolve(model.Model));
        Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(() => PeftTargets.FromNames("lm_head").Resolve(model.Model));
    }

    [Fact]
    public void ConfigFieldsRoundTripThroughAdapterConfigJson()
    {
        var config = new LoraConfig
        {
            R = 16, LoraAlpha = 24.5, LoraDropout = 0.05, UseRsLora = true, UseDora = true, InitLoraWeights = false,
            TargetModules = PeftTargets.AllLinearLayers, BaseModelNameOrPath = "org/base", InferenceMode = true,
            RankPattern = new Dictionary<string, int> { ["down_proj"] = 4 },
            AlphaPattern = new Dictionary<string, double> { [@"layers\.0\.self_attn\.q_proj"] = 2 },
        };
        var back = Assert.IsType<LoraConfig>(AdapterConfig.Parse(config.ToJson()));
        Assert.Equal((16, 24.5, 0.05, true, true, false), (back.R, back.LoraAlpha, back.LoraDropout, back.UseRsLora, back.UseDora, back.InitLoraWeights));
        Assert.Equal(("all-linear", "org/base", true, "CAUSAL_LM", "LORA"), (back.TargetModules.Pattern, back.BaseModelNameOrPath, back.InferenceMode, back.TaskType, back.PeftType));
        Assert.Equal(config.RankPattern, back.RankPattern);
        Assert.Equal(config.AlphaPattern, back.AlphaPattern);
        Assert.Equal(config.ToJson(), back.ToJson());

        Assert.Equal(4, back.RankOf("model.layers.3.mlp.down_proj"));
        Assert.Equal(16, back.RankOf("model.layers.3.mlp.up_proj"));
        Assert.Equal(2, back.AlphaOf("model.layers.0.self_attn.q_proj"));
        Assert.Equal(24.5, back.AlphaOf("model.layers.1.self_attn.q_proj"));
    }

    [Fact]
    public void RankPatternShapesTheLayersAndRsLoraScalesByRootRank()
    {
        using var model = PretrainedModel.Load(TestData.TinyLlamaDir);
        var config = new LoraConfig { R = 8, LoraAlpha = 16, UseRsLora = true, TargetModules = PeftTargets.FromNames("q_proj", "down_proj"), RankPattern = new Dictionary<string, int> { ["down_proj"] = 2 } };
        LoraModel.Apply(model.Model, config);
        var layers = LoraModel.Layers(model.Model).ToDictionary(l => l.Path, l => l.Layer);
        Assert.Equal(2, layers["model.layers.0.mlp.down_proj"].Rank);
        Assert.Equal(16 / Math.Sqrt(2), layers["model.layers.0.mlp.down_proj"].Scaling, 12);
        Assert.Equal(8, layers["model.layers.0.self_attn.q_proj"].Rank);
        Assert.Equal([2L, 704L], layers["model.layers.0.mlp.down_proj"].lora_A.weight.shape);
    }

    [Fact]
    public void UnknownFieldsAreToleratedAndMissingFieldsTakePeftDefaults()
    {
        var config = Assert.IsType<LoraConfig>(AdapterConfig.Parse("""{"peft_type": "LORA", "something_new": {"a": 1}, "r": 4}"""));
        Assert.Equal((4, 8.0, 0.0), (config.R, config.LoraAlpha, config.LoraDropout));
        Assert.Equal(["q_proj", "v_proj"], config.TargetModules.Names!);
        Assert.Contains("something_new", config.ToJson());
    }

    /// <summary>PEFT's <c>init_lora_weights</c> may name a way of drawing A and B; only those that leave the base alone load.</summary>
    [Theory]
    [InlineData("\"gaussian\"", null)]
    [InlineData("\"orthogonal\"", null)]
    [InlineData("\"eva\"", null)]
    [InlineData("\"pissa\"", "changes the base model's weights")]
    [InlineData("\"pissa_niter_16\"", "path_initial_model_for_weight_conversion")]
    [InlineData("\"loftq\"", "changes the base model's weights")]
    [InlineData("\"kaiming\"", "expected true, false, \"gaussian\"")]
    [InlineData("3", "expected true, false, \"gaussian\"")]
    public void InitLoraWeightsNamesLoadWhenTheyOnlyDrawTheAdapter(string value, string? refusal)
    {
        var json = $$"""{"peft_type": "LORA", "r": 4, "init_lora_weights": {{value}}}""";
        if (refusal is null)
        {
            var config = Assert.IsType<LoraConfig>(AdapterConfig.Parse(json, "adapter_config.json"));
            Assert.True(config.InitLoraWeights);
            Assert.Contains($"\"init_lora_weights\": {value}", config.ToJson());
            return;
        }
        var e = Assert.ThrowsAny<QuantTune.Diagnostics.QuantTuneException>(() => AdapterConfig.Parse(json, "adapter_config.json"));
        Assert.Contains("adapter_config.json", e.Message);
        Assert.Contains("init_lora_weights", e.Message);
        Assert.Contains(refusal, e.Message);
    }
}
