using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.SideTuning;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Gemma4;

/// <summary>
/// Gemma 4's config.json as transformers' Gemma4TextConfig reads it: per-layer head sizes, key/value heads and sources,
/// MLP widths, RoPE per layer type; errors naming the file and the key (nested under text_config in a gemma4 checkpoint);
/// the parameter counts from the config (ModelDimensionLimits, the
/// planner's full and LoRA) equal the built model's, and QST, which runs the layers one at a time, is refused.
/// </summary>
public sealed class Gemma4ConfigTests
{
    static JsonObject Tiny() => JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyGemma4Dir, "config.json")))!.AsObject();

    [Fact]
    public void TheTinyConfigReadsEveryQuirk()
    {
        var c = ModelConfig.Parse(Tiny().ToJsonString());
        Assert.Equal([16, 32, 16, 16, 32], Enumerable.Range(0, 5).Select(c.HeadDimOf));
        Assert.Equal([2, 1, 2, 2, 1], Enumerable.Range(0, 5).Select(c.KvHeadsOf));
        Assert.Equal([false, true, false, false, true], Enumerable.Range(0, 5).Select(c.KeysAsValues));
        Assert.Equal([null, null, null, 2, 1], Enumerable.Range(0, 5).Select(c.KvSourceOf));
        Assert.Equal([128, 128, 128, 256, 256], Enumerable.Range(0, 5).Select(c.IntermediateSizeOf));
        Assert.Equal(new PerLayerInputs(8, 4096), c.PerLayerInputs);
        Assert.Equal(NormKind.ScaledInFloat32, c.Norm);
        Assert.True(c.ValueNorm && c.LayerScalar && c.QkNorm);
        Assert.Equal(1.0, c.AttentionScale);
        Assert.Equal(("proportional", 0.25, 1e6), (c.Rope.Type, c.Rope.RotatedFraction, c.Rope.Theta));
        Assert.Equal(("default", 1e4), (c.LocalRope!.Type, c.LocalRope.Theta));
        Assert.Equal(1.0, c.FinalLogitSoftcap);
        Assert.Null(c.CheckpointStack);
    }

    [Fact]
    public void TransformersDefaultsFillTheKeysAConfigLeavesOut()
    {
        var json = Tiny();
        foreach (var key in new[] { "layer_types", "rope_parameters", "sliding_window", "global_head_dim", "hidden_size_per_layer_input", "vocab_size_per_layer_input" })
            json.Remove(key);
        json["num_hidden_layers"] = 6;
        json["num_kv_shared_layers"] = 0;
        json["vocab_size_per_layer_input"] = 4096;
        var c = ModelConfig.Parse(json.ToJsonString());
        Assert.Equal([true, true, true, true, true, false], c.SlidingLayers);
        Assert.Equal(512, c.SlidingWindow);
        Assert.Equal(512, c.HeadDimOf(5));
        Assert.Equal(new PerLayerInputs(256, 4096), c.PerLayerInputs);
        Assert.Equal(("proportional", 0.25, 1e6), (c.Rope.Type, c.Rope.RotatedFraction, c.Rope.Theta));
    }

    [Fact]
    public void TheImageAudioTextCheckpointsTextModelIsRead()
    {
        var c = ModelConfig.Parse(new JsonObject { ["model_type"] = "gemma4", ["text_config"] = Tiny(), ["vision_config"] = new JsonObject() }.ToJsonString());
        Assert.Equal("gemma4", c.ModelType);
        Assert.Equal("model.language_model", c.CheckpointStack);
        Assert.Equal(32, c.HeadDimOf(4));
    }

    /// <summary>
    /// gemma-4-e2b (assets/configs): 35 layers, four sliding to each full one, the last 20 sharing layers 13's and 14's keys and
    /// values with double-wide MLPs; 4,628,569,379 parameters in its text model, counted by hand from transformers' module shapes
    /// (embedding 402,653,184 tied; per-layer table 2,348,810,240; per-layer projection 13,762,560; the layers; norms; layer_scalars).
    /// </summary>
    [Fact]
    public void TheShippedE2BConfigIsRead()
    {
        var c = ModelConfig.Load(ConfigSources.Resolve("gemma-4-e2b"));
        Assert.Equal(35, c.NumLayers);
        Assert.Equal(13, c.KvSourceOf(15));
        Assert.Equal(14, c.KvSourceOf(19));
        Assert.Equal(14, c.KvSourceOf(34));
        Assert.Null(c.KvSourceOf(14));
        Assert.Equal(12288, c.IntermediateSizeOf(15));
        Assert.Equal(512, c.HeadDimOf(4));
        Assert.Equal("model.language_model", c.CheckpointStack);
        Assert.Equal(4_628_569_379L, ModelDimensionLimits.ParameterCount(c));
        Assert.Equal(4_628_569_379L, MemoryPlanner.Plan(new PlanRequest(c, "full", 1, 16)).TrainableParameters);
    }

    [Theory]
    [InlineData("num_global_key_value_heads", null, "num_global_key_value_heads")]
    [InlineData("num_global_key_value_heads", "3", "num_global_key_value_heads")]
    [InlineData("num_kv_shared_layers", "5", "num_kv_shared_layers")]
    [InlineData("num_kv_shared_layers", "4", "num_kv_shared_layers")]
    [InlineData("layer_types", "[\"sliding_attention\",\"full_attention\",\"sliding_attention\",\"full_attention\",\"sliding_attention\"]", "layer_types")]
    [InlineData("layer_types", "[\"sliding_attention\",\"global\",\"sliding_attention\",\"sliding_attention\",\"full_attention\"]", "layer_types")]
    [InlineData("rope_parameters", "{\"full_attention\":{\"rope_type\":\"default\",\"rope_theta\":1e6}}", "rope_parameters.full_attention.rope_type")]
    [InlineData("rope_parameters", "{\"full_attention\":{\"rope_type\":\"yarn\",\"rope_theta\":1e6}}", "rope_parameters.full_attention.rope_type")]
    [InlineData("rope_parameters", "{\"full_attention\":{\"rope_type\":\"proportional\",\"rope_theta\":1e6,\"partial_rotary_factor\":0}}", "rope_parameters.full_attention.partial_rotary_factor")]
    [InlineData("rope_parameters", "{\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":1e4}}", "rope_parameters.full_attention")]
    [InlineData("vocab_size_per_layer_input", "100", "vocab_size_per_layer_input")]
    [InlineData("global_head_dim", "15", "global_head_dim")]
    [InlineData("global_head_dim", "2000000000", "global_head_dim")]
    [InlineData("hidden_size_per_layer_input", "2000000000", "hidden_size_per_layer_input")]
    [InlineData("vocab_size_per_layer_input", "2000000000", "vocab_size_per_layer_input")]
    [InlineData("use_bidirectional_attention", "\"all\"", "use_bidirectional_attention")]
    public void ABadKeyIsRefusedNamingFileAndKey(string key, string? value, string field)
    {
        var json = Tiny();
        json[key] = value is null ? null : JsonNode.Parse(value);
        if (value is null) json.Remove(key);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(json.ToJsonString(), "/m/config.json")));
        Assert.Equal("/m/config.json", e.File);
        Assert.Equal(field, e.Field);
        var nested = new JsonObject { ["model_type"] = "gemma4", ["text_config"] = json.DeepClone() };
        var n = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(nested.ToJsonString(), "/m/config.json")));
        Assert.Equal("text_config." + field, n.Field);
    }

    [Fact]
    public void TheCountsFromTheConfigAreTheBuiltModels()
    {
        var config = ModelConfig.Load(TestData.TinyGemma4Dir);
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        Assert.Equal(model.ParameterCount(), ModelDimensionLimits.ParameterCount(config));
        Assert.Equal(model.ParameterCount(), MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 16)).TrainableParameters);
        using var lora = new CausalLM(config, ScalarType.Float32, CPU);
        LoraModel.Apply(lora, new LoraConfig { R = 4, TargetModules = PeftTargets.AllLinearLayers }, seed: 1);
        Assert.Equal(lora.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), MemoryPlanner.Plan(new PlanRequest(config, "lora", 1, 16) { LoraRank = 4 }).TrainableParameters);
    }

    [Fact]
    public void QstIsRefusedNamingTheReason()
    {
        var config = ModelConfig.Load(TestData.TinyGemma4Dir);
        var e = Assert.ThrowsAny<QuantTuneException>(() => new SideNetwork(config, new QstConfig { Reduction = 4 }, seed: 1));
        Assert.Contains("per-layer inputs", e.Message);
        Assert.ThrowsAny<QuantTuneException>(() => MemoryPlanner.Plan(new PlanRequest(config, "qst", 1, 16) { Qst = new QstConfig { Reduction = 4 } }));
    }
}
