using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// Gemma 4's mixture-of-experts keys as Gemma4TextConfig reads them (enable_moe_block with num_experts, top_k_experts and
/// moe_intermediate_size, which have no defaults); errors naming the file and the key; the parameter counts from the
/// config (ModelDimensionLimits, the planner's full and LoRA) equal the built model's, and the shipped gemma-4-26b-a4b
/// config's are transformers' module shapes counted by hand.
/// </summary>
public sealed class Gemma4MoeConfigTests
{
    static JsonObject Tiny() => JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyGemma4MoeDir, "config.json")))!.AsObject();

    [Fact]
    public void TheTinyConfigReadsTheExpertsBesideTheMlp()
    {
        var c = ModelConfig.Parse(Tiny().ToJsonString());
        var moe = c.Experts!;
        Assert.Equal((8, 2, 32, true, true, 0.0), (moe.NumExperts, moe.ExpertsPerToken, moe.ExpertIntermediateSize, moe.NormTopKProb, moe.BesideDenseMlp, moe.RouterAuxLossCoef));
        Assert.True(Enumerable.Range(0, 3).All(c.IsSparse));
        Assert.Equal([64, 64, 64], Enumerable.Range(0, 3).Select(c.IntermediateSizeOf));
        Assert.Null(c.PerLayerInputs);
        Assert.Null(c.LayersNeedMoreThanTheirInput);
    }

    /// <summary>
    /// gemma-4-26b-a4b (assets/configs): 30 layers (five sliding to each full one) of hidden 2816, each with a dense MLP of 2112
    /// and 128 experts of 704 (top 8) beside it; 25,233,141,790 parameters in its text model, counted from transformers' module
    /// shapes: the tied embedding 262144 × 2816; a sliding layer's attention 2816 × (4096 + 2048 + 2048) + 4096 × 2816 and q/k
    /// norms of 256, a full layer's 2816 × (8192 + 1024) + 8192 × 2816 (keys as values, 2 key heads of 512) and q/k norms of 512;
    /// each layer's MLP 3 × 2816 × 2112, router 128 × 2816 + 2816 + 128, experts 128 × 3 × 2816 × 704, seven norms and
    /// layer_scalar; the final norm.
    /// </summary>
    [Fact]
    public void TheShipped26BA4BConfigIsReadAndCounted()
    {
        var c = ModelConfig.Load(ConfigSources.Resolve("gemma-4-26b-a4b"));
        Assert.Equal(30, c.NumLayers);
        Assert.Equal(("model.language_model", 128, 8, 704, true), (c.CheckpointStack, c.Experts!.NumExperts, c.Experts.ExpertsPerToken, c.Experts.ExpertIntermediateSize, c.Experts.BesideDenseMlp));
        Assert.Equal((512, 2, true), (c.HeadDimOf(5), c.KvHeadsOf(5), c.KeysAsValues(5)));
        long h = 2816, vocab = 262144;
        long sliding = h * (4096 + 2048 + 2048) + 4096 * h + 2 * 256;
        long full = h * (8192 + 1024) + 8192 * h + 2 * 512;
        long perLayer = 3 * h * 2112 + (128 * h + h + 128) + 128 * 3 * h * 704 + 7 * h + 1;
        long expected = vocab * h + 25 * (sliding + perLayer) + 5 * (full + perLayer) + h;
        Assert.Equal(25_233_141_790L, expected);
        Assert.Equal(expected, ModelDimensionLimits.ParameterCount(c));
        Assert.Equal(expected, MemoryPlanner.Plan(new PlanRequest(c, "full", 1, 16)).TrainableParameters);
    }

    [Fact]
    public void TheCountsFromTheConfigAreTheBuiltModels()
    {
        var config = ModelConfig.Load(TestData.TinyGemma4MoeDir);
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        Assert.Equal(model.ParameterCount(), ModelDimensionLimits.ParameterCount(config));
        Assert.Equal(model.ParameterCount(), MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 16)).TrainableParameters);
        using var lora = new CausalLM(config, ScalarType.Float32, CPU);
        LoraModel.Apply(lora, new LoraConfig { R = 4, TargetModules = PeftTargets.AllLinearLayers }, seed: 1);
        Assert.Equal(lora.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "lora", 1, 16) { LoraRank = 4 }).TrainableParameters);
    }

    [Theory]
    [InlineData("num_experts", null, "num_experts")]
    [InlineData("num_experts", "0", "num_experts")]
    [InlineData("top_k_experts", null, "top_k_experts")]
    [InlineData("top_k_experts", "9", "top_k_experts")]
    [InlineData("moe_intermediate_size", null, "moe_intermediate_size")]
    [InlineData("moe_intermediate_size", "0", "moe_intermediate_size")]
    public void ABadKeyIsRefusedNamingFileAndKey(string key, string? value, string field)
    {
        var json = Tiny();
        if (value is null) json.Remove(key);
        else json[key] = JsonNode.Parse(value);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(json.ToJsonString(), "/m/config.json")));
        Assert.Equal("/m/config.json", e.File);
        Assert.Equal(field, e.Field);
    }
}
