using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Tests.Models;

/// <summary>Each family's config.json quirks as the shared decoder sees them, and the refusals.</summary>
public sealed class ModelFamilyTests
{
    const string Core = """
        "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 6, "num_attention_heads": 4
        """;

    static ModelConfig Parse(string body) => ModelConfig.Parse("{" + Core + ", " + body + "}", "config.json");

    [Fact]
    public void AnUnsupportedModelTypeIsRefusedWithTheSupportedOnes()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => Parse("\"model_type\": \"falcon\""));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("model_type", e.Message);
        Assert.Contains("'falcon' is not supported", e.Message);
        foreach (var type in new[] { "llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text" }) Assert.Contains(type, e.Message);
    }

    [Fact]
    public void AGemma3MultimodalCheckpointIsRefusedWithTheReason()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => Parse("\"model_type\": \"gemma3\""));
        Assert.Contains("Gemma3ForConditionalGeneration", e.Message);
        Assert.Contains("gemma3_text", e.Message);
    }

    /// <summary>ibm-granite/granite-3.3-8b-instruct's config.json as published (assets/configs/granite-3.3-8b-instruct.json).</summary>
    [Fact]
    public void GraniteReadsItsFourMultipliersFromAPublishedConfig()
    {
        var c = ModelConfig.Load(Path.Combine(AppContext.BaseDirectory, "assets", "configs", "granite-3.3-8b-instruct.json"));
        Assert.IsType<GraniteFamily>(c.Family);
        Assert.Equal((12.0, 0.22, 0.0078125, 16.0), (c.EmbeddingMultiplier, c.ResidualMultiplier, c.AttentionMultiplier, c.LogitsScaling));
        Assert.Equal(0.0078125, c.AttentionScale);
        Assert.Equal((4096, 32, 8, 128, 40, 12800, 49159), (c.HiddenSize, c.NumHeads, c.NumKvHeads, c.HeadDim, c.NumLayers, c.IntermediateSize, c.VocabSize));
        Assert.True(c.TieWordEmbeddings);
        Assert.False(c.QkvBias || c.OutputBias || c.MlpBias || c.QkNorm || c.ScaleEmbedding);
        Assert.Equal((NormKind.Scaled, NormPlacement.Pre, "silu"), (c.Norm, c.Placement, c.HiddenAct));
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(1e7, c.Rope.Theta);
        Assert.Equal("default", c.Rope.Type);
    }

    /// <summary>GraniteConfig's defaults: every multiplier 1 (so the attention scale is 1, not head_dim^-½), untied head, no biases; attention_bias and mlp_bias as Llama reads them.</summary>
    [Fact]
    public void GraniteDefaultsAreGraniteConfigs()
    {
        var c = Parse("\"model_type\": \"granite\"");
        Assert.Equal((1.0, 1.0, 1.0, 1.0), (c.EmbeddingMultiplier, c.ResidualMultiplier, c.AttentionMultiplier, c.LogitsScaling));
        Assert.Equal(1.0, c.AttentionScale);
        Assert.False(c.TieWordEmbeddings || c.QkvBias || c.MlpBias);
        var biased = Parse("\"model_type\": \"granite\", \"attention_bias\": true, \"mlp_bias\": true");
        Assert.True(biased.QkvBias && biased.OutputBias && biased.MlpBias);
        var e = Assert.ThrowsAny<QuantTuneException>(() => Parse("\"model_type\": \"granite\", \"logits_scaling\": 0"));
        Assert.Contains("logits_scaling", e.Message);
    }

    /// <summary>
    /// StableLM with StableLM-2-1.6B's options (written here: its published config.json was not at hand): LayerNorm
    /// with layer_norm_eps, RoPE on a quarter of each 64-wide head, q/k/v biases and nothing else biased; the defaults
    /// (partial rotary 0.25, no q/k/v bias, eps 1e-5); the per-head q/k LayerNorms and parallel residual of
    /// StableLM-2-12B refused by name.
    /// </summary>
    [Fact]
    public void StableLmReadsLayerNormPartialRotaryAndQkvBiasAndRefusesWhatItDoesNotBuild()
    {
        var c = ModelConfig.Parse("""
            {"model_type": "stablelm", "vocab_size": 100352, "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 24,
             "num_attention_heads": 32, "num_key_value_heads": 32, "layer_norm_eps": 1e-05, "partial_rotary_factor": 0.25,
             "use_qkv_bias": true, "qk_layernorm": false, "use_parallel_residual": false, "rope_theta": 10000, "hidden_act": "silu",
             "max_position_embeddings": 4096, "tie_word_embeddings": false}
            """);
        Assert.IsType<StableLmFamily>(c.Family);
        Assert.Equal((NormKind.LayerNorm, 1e-5, 64, 16), (c.Norm, c.RmsNormEps, c.HeadDim, c.RotaryDimOf(c.HeadDim)));
        Assert.True(c.QkvBias);
        Assert.False(c.OutputBias || c.MlpBias || c.QkNorm || c.TieWordEmbeddings);
        var d = Parse("\"model_type\": \"stablelm\"");
        Assert.Equal((0.25, false, 1e-5, 4096), (d.PartialRotaryFactor, d.QkvBias, d.RmsNormEps, d.MaxPositionEmbeddings));
        foreach (var key in new[] { "qk_layernorm", "use_parallel_residual" })
        {
            var e = Assert.ThrowsAny<QuantTuneException>(() => Parse($"\"model_type\": \"stablelm\", \"{key}\": true"));
            Assert.Contains(key, e.Message);
            Assert.Contains("not built", e.Message);
        }
    }

    [Fact]
    public void Qwen3HasQkNormsAndItsOwnHeadDim()
    {
        var c = ModelConfig.Load(TestData.TinyQwen3Dir);
        Assert.IsType<Qwen3Family>(c.Family);
        Assert.True(c.QkNorm);
        Assert.Equal((32, 4, 64), (c.HeadDim, c.NumHeads, c.HiddenSize));
        Assert.False(c.TieWordEmbeddings || c.QkvBias || c.OutputBias);
        Assert.Equal(NormKind.Scaled, c.Norm);
        Assert.Equal(1e6, c.Rope.Theta);
    }

    [Fact]
    public void LlamaWithHeadDimAndBiasesKeepsThem()
    {
        // Mistral NeMo's shape: head_dim 128 with hidden 5120 and 32 heads.
        var nemo = ModelConfig.Parse("""{"model_type": "mistral", "vocab_size": 100, "hidden_size": 5120, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128}""");
        Assert.Equal(128, nemo.HeadDim);
        var c = Parse("\"model_type\": \"llama\", \"head_dim\": 32, \"attention_bias\": true, \"mlp_bias\": true");
        Assert.Equal(32, c.HeadDim);
        Assert.True(c.QkvBias && c.OutputBias && c.MlpBias);
    }

    [Fact]
    public void Gemma3ReadsLayerTypesOrThePatternAndTwoRopeBases()
    {
        var c = ModelConfig.Load(TestData.TinyGemma3Dir);
        Assert.Equal((NormKind.OffsetOne, NormPlacement.Sandwich, true, true), (c.Norm, c.Placement, c.QkNorm, c.ScaleEmbedding));
        Assert.Equal([16, 16, (int?)null], Enumerable.Range(0, 3).Select(c.WindowOf));
        Assert.Equal(new RopeConfig(1e6, "linear", 2.0), c.RopeOf(2));
        Assert.Equal(new RopeConfig(10000.0), c.RopeOf(0));
        Assert.Equal(1 / Math.Sqrt(24), c.AttentionScale, 12);
        Assert.Equal("gelu_pytorch_tanh", c.HiddenAct);
        Assert.True(c.TieWordEmbeddings);
        // The older form: sliding_window_pattern 3 → layers 2 and 5 global; rope_theta global, rope_local_base_freq local.
        var old = Parse("\"model_type\": \"gemma3_text\", \"sliding_window\": 8, \"sliding_window_pattern\": 3, \"rope_theta\": 1000000.0, \"rope_local_base_freq\": 10000.0, \"query_pre_attn_scalar\": 16");
        Assert.Equal([true, true, false, true, true, false], Enumerable.Range(0, 6).Select(old.IsSliding));
        Assert.Equal((1e6, 10000.0), (old.RopeOf(2).Theta, old.RopeOf(0).Theta));
    }

    [Fact]
    public void Gemma2HasSoftCapsAndAlternatingWindows()
    {
        var c = ModelConfig.Load(TestData.TinyGemma2Dir);
        Assert.Equal((1.0, 1.5), (c.AttentionSoftcap, c.FinalLogitSoftcap));
        Assert.False(c.QkNorm);
        Assert.Equal([true, false, true], Enumerable.Range(0, 3).Select(c.IsSliding));
        var bad = Assert.ThrowsAny<QuantTuneException>(() => Parse("\"model_type\": \"gemma2\", \"sliding_window\": 8, \"layer_types\": [\"full_attention\"]"));
        Assert.Contains("layer_types", bad.Message);
    }
}
