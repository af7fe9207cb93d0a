using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Models.Olmo2;

/// <summary>
/// OLMo 2: a published config.json reads as OLMo 2's decoder (norms after each block, q/k norms
/// over the whole projections, no input norm), the built model has those modules and shapes, and
/// removing either quirk from the NumPy port moves tiny-olmo2's logits far beyond the parity
/// tolerance, so the parity tests would catch a model that lacked it.
/// </summary>
public sealed class Olmo2Tests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    /// <summary>
    /// allenai/OLMo-2-0425-1B's config.json as its mirrors give it (the file itself was not at hand): 16 layers of
    /// hidden 2048 and 16 heads (no head_dim key), rms_norm_eps 1e-6, rope_theta 500000, untied head.
    /// </summary>
    const string Olmo2_1B = """
        {
          "architectures": ["Olmo2ForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "eos_token_id": 100257,
          "hidden_act": "silu",
          "hidden_size": 2048,
          "initializer_range": 0.02,
          "intermediate_size": 8192,
          "max_position_embeddings": 4096,
          "model_type": "olmo2",
          "num_attention_heads": 16,
          "num_hidden_layers": 16,
          "num_key_value_heads": 16,
          "pad_token_id": 100277,
          "rms_norm_eps": 1e-06,
          "rope_scaling": null,
          "rope_theta": 500000,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "use_cache": true,
          "vocab_size": 100352
        }
        """;

    [Fact]
    public void TheOlmo2_1BConfigReadsAsOlmo2()
    {
        var c = ModelConfig.Parse(Olmo2_1B);
        Assert.Equal("olmo2", c.ModelType);
        Assert.Equal(NormPlacement.Post, c.Placement);
        Assert.True(c.QkNorm);
        Assert.Equal(QkNormScope.Projection, c.QkNormOver);
        Assert.Equal((2048, 2048), c.QkNormWidths);
        Assert.Equal(NormKind.Scaled, c.Norm);
        Assert.Equal((16, 2048, 8192, 16, 16, 128), (c.NumLayers, c.HiddenSize, c.IntermediateSize, c.NumHeads, c.NumKvHeads, c.HeadDim));
        Assert.Equal(100352, c.VocabSize);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Equal(500000.0, c.Rope.Theta);
        Assert.Equal(4096, c.MaxPositionEmbeddings);
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.QkvBias || c.OutputBias || c.MlpBias);
        Assert.Null(c.RopeLayers);
        Assert.Null(c.SlidingWindow);
        Assert.Equal([100257], c.EosTokenIds);
        // 1,484,916,736 parameters: the embedding and head, 16 layers of q/k/v/o, SwiGLU, two norms and q/k norms of 2048 each, the final norm.
        Assert.Equal(1_484_916_736L, ModelDimensionLimits.ParameterCount(c));
    }

    [Fact]
    public void Olmo2DefaultsAreOlmo2ConfigsAndAttentionBiasReachesTheOutput()
    {
        var c = ModelConfig.Parse("""{"model_type":"olmo2","vocab_size":64,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"attention_bias":true}""");
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.False(c.TieWordEmbeddings);
        Assert.True(c.QkvBias && c.OutputBias);
        Assert.Equal((32, 16), c.QkNormWidths);
    }

    [Fact]
    public void TheLayersHaveNoInputNormAndWholeProjectionQkNorms()
    {
        var c = ModelConfig.Load(TestData.TinyOlmo2Dir);
        using var model = new CausalLM(c, ScalarType.Float32, CPU);
        var names = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.DoesNotContain(names.Keys, n => n.Contains("input_layernorm") || n.Contains("pre_feedforward_layernorm"));
        Assert.Equal([128L], names["model.layers.0.post_attention_layernorm.weight"]);
        Assert.Equal([128L], names["model.layers.0.post_feedforward_layernorm.weight"]);
        Assert.Equal([4L * 32], names["model.layers.0.self_attn.q_norm.weight"]);
        Assert.Equal([2L * 32], names["model.layers.0.self_attn.k_norm.weight"]);
        Assert.Equal(model.ParameterCount(), ModelDimensionLimits.ParameterCount(c));
    }

    [Theory]
    [InlineData("pre_norm")]
    [InlineData("per_head_qk_norm")]
    public void RemovingAQuirkMovesTheReferenceLogits(string variant)
    {
        using var reference = new ReferenceOutputs(TestData.TinyOlmo2Dir);
        int positions = reference.Json.GetProperty("quirk_logits").GetProperty("positions").GetInt32();
        using var scope = NewDisposeScope();
        double moved = (reference.Get("logits.0").narrow(0, 0, positions) - reference.Get($"logits.0.{variant}")).abs().max().item<float>();
        output.WriteLine($"{variant}: the reference logits move by {moved:E2}");
        Assert.True(moved > 100 * Tolerance, $"removing {variant} moves the reference logits by only {moved}");
    }
}
