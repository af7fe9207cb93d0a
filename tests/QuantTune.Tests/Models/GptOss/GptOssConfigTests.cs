using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using QuantTune.SideTuning;
using QuantTune.Training.Memory;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.GptOss;

/// <summary>
/// gpt-oss-20b's config (assets/configs/gpt-oss-20b.json) reads as the family: alternating sliding (128) and full
/// layers, YaRN, biases, sinks, 32 experts with biases and the clamped SwiGLU, and 20,914,757,184 parameters counted from
/// its shapes (written out here) both by the loader's count and by the planner; GptOssConfig's defaults fill what a
/// config leaves out; a bad value is refused by its key.
/// </summary>
public sealed class GptOssConfigTests
{
    [Fact]
    public void GptOss20BReadsAsTheFamilyAndIsItsTwentyPointNineBillionParameters()
    {
        var c = ModelConfig.Load(ConfigSources.Resolve("gpt-oss-20b"));
        Assert.Equal("gpt_oss", c.ModelType);
        Assert.Equal(64, c.HeadDim);
        Assert.True(c.QkvBias && c.OutputBias && c.AttentionSinks);
        Assert.Equal(NormKind.ScaledInFloat32, c.Norm);
        Assert.Equal(128, c.SlidingWindow);
        Assert.Equal(Enumerable.Range(0, 24).Select(l => l % 2 == 0), Enumerable.Range(0, 24).Select(c.IsSliding));
        Assert.Equal(("yarn", 32.0, 4096, false), (c.Rope.Type, c.Rope.Factor, c.Rope.OriginalMaxPositionEmbeddings, c.Rope.Truncate));
        Assert.Equal(150_000.0, c.Rope.Theta);
        Assert.Equal(0.1 * Math.Log(32) + 1, c.Rope.AttentionFactor, 12);
        var moe = c.Experts!;
        Assert.Equal((32, 4, 2880), (moe.NumExperts, moe.ExpertsPerToken, moe.ExpertIntermediateSize));
        Assert.True(moe.RouterBias && moe.ExpertBias && moe.SoftmaxOverTopK && moe.StoredInterleaved);
        Assert.Equal(new ClampedSwiGlu(1.702, 7.0), moe.ClampedActivation);
        Assert.Equal(0.9, moe.RouterAuxLossCoef);
        long h = 2880, q = 64 * 64, kv = 8 * 64, vocab = 201_088;
        long attention = 2 * h * q + 2 * h * kv + (q + 2 * kv) + h + 64; // q, k, v, o; their biases; the sinks
        long experts = 32 * (h * 2 * 2880 + 2 * 2880 + 2880 * h + h) + 32 * h + 32; // gate_up and down with biases; router with bias
        long expected = 2 * vocab * h + 24 * (attention + experts + 2 * h) + h;
        Assert.Equal(20_914_757_184L, expected);
        Assert.Equal(expected, ModelDimensionLimits.ParameterCount(c));
        Assert.Equal(expected, MemoryPlanner.Plan(new PlanRequest(c, "full", 1, 1024)).TrainableParameters);
    }

    /// <summary>The QST side network has plain attention, without sinks (the planner's counts of the built model are FamilyShapePlanTests').</summary>
    [Fact]
    public void TheSideNetworkHasNoSinks()
    {
        var config = ModelConfig.Load(TestData.TinyGptOssDir);
        using var side = new SideNetwork(config, new QstConfig { Reduction = 16 }, seed: 1);
        Assert.DoesNotContain(side.named_parameters(), p => p.name.EndsWith("sinks", StringComparison.Ordinal));
    }

    [Fact]
    public void GptOssConfigDefaultsFillAMinimalConfigAndBadValuesAreRefusedByKey()
    {
        const string minimal = """{"model_type": "gpt_oss", "vocab_size": 64, "hidden_size": 64, "intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2}""";
        var c = ModelConfig.Parse(minimal);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(128, c.SlidingWindow);
        Assert.Equal([true, false, true], Enumerable.Range(0, 3).Select(c.IsSliding));
        Assert.Equal(("yarn", 32.0, 4096, false, 150_000.0), (c.Rope.Type, c.Rope.Factor, c.Rope.OriginalMaxPositionEmbeddings, c.Rope.Truncate, c.Rope.Theta));
        Assert.Equal((128, 4, 32), (c.Experts!.NumExperts, c.Experts.ExpertsPerToken, c.Experts.ExpertIntermediateSize));
        Assert.True(c.QkvBias);
        var e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(minimal.Replace("}", ", \"swiglu_limit\": -1}")));
        Assert.Contains("swiglu_limit", e.Message);
        e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(minimal.Replace("}", ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 32.0}}")));
        Assert.Contains("original_max_position_embeddings", e.Message);
        e = Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(minimal.Replace("}", ", \"layer_types\": [\"sliding_attention\"]}")));
        Assert.Contains("layer_types", e.Message);
    }
}
