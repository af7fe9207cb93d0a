using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Qwen35;

/// <summary>
/// Qwen3.5's config.json as transformers reads it: the text model's keys at the top
/// (qwen3_5_text) or under text_config (qwen3_5, whose weights live under model.language_model);
/// layer_types, or a full-attention layer every full_attention_interval; partial RoPE 0.25 by
/// default; errors naming the key. The parameter count from the config is the built model's.
/// </summary>
public sealed class Qwen35ConfigTests
{
    [Fact]
    public void TheTextConfigReadsTheHybridLayersAndQuirks()
    {
        var c = ModelConfig.Parse(Qwen35CacheTests.Config);
        Assert.Equal([true, false, true, true], c.LinearAttention!.Layers);
        Assert.Equal(2 * 32 + 96, c.LinearAttention.ConvDim);
        Assert.True(c.AttentionOutputGate);
        Assert.True(c.QkNorm);
        Assert.Equal(NormKind.OffsetOne, c.Norm);
        Assert.Equal(8, c.RotaryDimOf(c.HeadDim));
        Assert.Null(c.CheckpointStack);
    }

    [Fact]
    public void TheImageTextCheckpointsTextModelIsRead()
    {
        // Qwen/Qwen3.5-0.8B's config.json (text_config as published; vision_config abridged)
        var c = ModelConfig.Parse("""
            {"architectures":["Qwen3_5ForConditionalGeneration"],"model_type":"qwen3_5","tie_word_embeddings":true,
             "text_config":{"attention_bias":false,"attention_dropout":0.0,"attn_output_gate":true,"full_attention_interval":4,
               "head_dim":256,"hidden_act":"silu","hidden_size":1024,"intermediate_size":3584,"linear_conv_kernel_dim":4,
               "linear_key_head_dim":128,"linear_num_key_heads":16,"linear_num_value_heads":16,"linear_value_head_dim":128,
               "max_position_embeddings":262144,"mlp_only_layers":[],"model_type":"qwen3_5_text","num_attention_heads":8,
               "num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,"tie_word_embeddings":true,"vocab_size":248320,
               "rope_parameters":{"mrope_interleaved":true,"mrope_section":[11,11,10],"rope_type":"default","rope_theta":10000000,"partial_rotary_factor":0.25}},
             "vision_config":{"depth":12,"hidden_size":768,"model_type":"qwen3_5"}}
            """);
        Assert.Equal("qwen3_5", c.ModelType);
        Assert.Equal(24, c.NumLayers);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (i + 1) % 4 != 0), c.LinearAttention!.Layers);
        Assert.Equal(64, c.RotaryDimOf(c.HeadDim));
        Assert.Equal(1e7, c.Rope.Theta);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal("model.language_model", c.CheckpointStack);
        // Qwen3.5-0.8B's text model, counted by hand from the shapes of transformers' modules: embedding 254,279,680 (tied),
        // 6 attention layers of 18,352,640 and 18 Gated DeltaNet layers of 21,555,360 (MLP and norms included), final norm 1,024
        Assert.Equal(752_393_024, ModelDimensionLimits.ParameterCount(c));
    }

    [Theory]
    [InlineData("\"layer_types\":[\"linear_attention\",\"sliding\",\"linear_attention\",\"full_attention\"]", "layer_types[1]")]
    [InlineData("\"layer_types\":[\"linear_attention\",\"full_attention\"]", "layer_types")]
    [InlineData("\"linear_num_value_heads\":6", "linear_num_value_heads")]
    [InlineData("\"linear_conv_kernel_dim\":0", "linear_conv_kernel_dim")]
    [InlineData("\"partial_rotary_factor\":0.01", "partial_rotary_factor")]
    public void ABadKeyIsRefusedByName(string entry, string field)
    {
        var json = $$"""{"model_type":"qwen3_5_text","vocab_size":512,"hidden_size":64,"intermediate_size":96,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":32,"linear_num_key_heads":4,{{entry}}}""";
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse(json, "/m/config.json")));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void AMissingTextConfigIsRefusedByName()
    {
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => ModelConfig.Parse("""{"model_type":"qwen3_5","vision_config":{}}""", "/m/config.json")));
        Assert.Equal("text_config", e.Field);
    }

    [Fact]
    public void TheParameterCountFromTheConfigIsTheBuiltModels()
    {
        var config = ModelConfig.Parse(Qwen35CacheTests.Config);
        using var model = new CausalLM(config, ScalarType.Float32, CPU);
        Assert.Equal(model.ParameterCount(), ModelDimensionLimits.ParameterCount(config));
    }
}
