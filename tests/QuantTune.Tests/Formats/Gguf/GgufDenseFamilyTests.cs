using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// OLMo 2, SmolLM3, Granite and StableLM exported as llama.cpp v0.5.0's converter writes them (conversion/olmo.py,
/// llama.py, granite.py, stablelm.py) and its loader reads them (src/models/olmo2.cpp, smollm3.cpp, granite.cpp,
/// stablelm.cpp): each architecture's keys and tensor names, which q/k rows are permuted, the tied head written where
/// llama.cpp requires output.weight, the config read back, and the configs llama.cpp cannot hold refused by their field.
/// </summary>
public sealed class GgufDenseFamilyTests() : TempFolderTest("qt-gguf-dense-")
{
    /// <summary>Olmo2Model: TextModel's keys without key/value length; post_attention_norm and post_ffw_norm, no norm before either; q/k norms [hidden] and [kv·head_dim]; rows not permuted; the tied head as output.weight.</summary>
    [Fact]
    public void Olmo2ExportsPostNormsWholeProjectionQkNormsAndTheTiedHeadAsOutput()
    {
        using var model = PretrainedModel.Load(TestData.TinyOlmo2Dir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "olmo2",
        [
            "olmo2.context_length", "olmo2.embedding_length", "olmo2.block_count", "olmo2.feed_forward_length",
            "olmo2.attention.head_count", "olmo2.attention.head_count_kv", "olmo2.attention.layer_norm_rms_epsilon", "olmo2.rope.freq_base",
        ], ["token_embd.weight", "output_norm.weight", "output.weight"], 3,
            ConverterLayout.Weights("attn_q", "attn_q_norm", "attn_k", "attn_k_norm", "attn_v", "attn_output", "post_attention_norm", "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm"));
        Assert.Equal(new long[] { 128 }, f.TensorsByName["blk.0.attn_q_norm.weight"].Dims);
        Assert.Equal(new long[] { 64 }, f.TensorsByName["blk.0.attn_k_norm.weight"].Dims);
        Assert.Equal(ConverterLayout.Values(model, "model.layers.2.post_feedforward_layernorm.weight"), f.ReadTensor("blk.2.post_ffw_norm.weight"));
        Assert.Equal(ConverterLayout.Values(model, "model.layers.1.self_attn.q_proj.weight"), f.ReadTensor("blk.1.attn_q.weight"));
        Assert.Equal(f.ReadTensor("token_embd.weight"), f.ReadTensor("output.weight"));

        var c = ConverterLayout.ReadBack(f);
        Assert.Equal(("olmo2", NormPlacement.Post, true, QkNormScope.Projection, false), (c.ModelType, c.Placement, c.QkNorm, c.QkNormOver, c.TieWordEmbeddings));
    }

    /// <summary>SmolLM3Model is LlamaModel: its keys with vocab_size and rope.dimension_count, q/k rows permuted, no output.weight for the tied head; read back, RoPE is left out of every fourth layer.</summary>
    [Fact]
    public void SmolLM3ExportsAsLlamaWithPermutedRowsAndReadsBackEveryFourthLayerWithoutRope()
    {
        using var model = PretrainedModel.Load(TestData.TinySmolLM3GgufDir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "smollm3",
        [
            "smollm3.vocab_size", "smollm3.context_length", "smollm3.embedding_length", "smollm3.block_count", "smollm3.feed_forward_length",
            "smollm3.rope.dimension_count", "smollm3.attention.head_count", "smollm3.attention.head_count_kv",
            "smollm3.attention.layer_norm_rms_epsilon", "smollm3.rope.freq_base",
        ], ["token_embd.weight", "output_norm.weight"], 4,
            ConverterLayout.Weights("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"));
        Assert.Equal(LlamaRowPermutation.Permute(ConverterLayout.Values(model, "model.layers.1.self_attn.k_proj.weight"), 64, 128, 2), f.ReadTensor("blk.1.attn_k.weight"));

        var c = ConverterLayout.ReadBack(f);
        Assert.Equal([true, true, true, false], c.RopeLayers!);
        Assert.True(c.TieWordEmbeddings);
    }

    /// <summary>GraniteModel: Llama's keys without key/value length, then the four multipliers under llama.cpp's names, read back as they were.</summary>
    [Fact]
    public void GraniteExportsItsMultipliersAsLlamaCppsScalesAndReadsThemBack()
    {
        using var model = PretrainedModel.Load(TestData.TinyGraniteDir);
        using var f = ConverterLayout.Export(model, Dir, "granite");
        ConverterLayout.AssertKeys(f, "granite",
        [
            "granite.vocab_size", "granite.context_length", "granite.embedding_length", "granite.block_count", "granite.feed_forward_length",
            "granite.rope.dimension_count", "granite.attention.head_count", "granite.attention.head_count_kv",
            "granite.attention.layer_norm_rms_epsilon", "granite.rope.freq_base",
            "granite.attention.scale", "granite.embedding_scale", "granite.residual_scale", "granite.logit_scale",
        ]);
        Assert.Equal(LlamaRowPermutation.Permute(ConverterLayout.Values(model, "model.layers.0.self_attn.q_proj.weight"), 128, 128, 4), f.ReadTensor("blk.0.attn_q.weight"));

        var c = ConverterLayout.ReadBack(f);
        var o = model.Config;
        float?[] Multipliers(ModelConfig m) => [(float?)m.EmbeddingMultiplier, (float?)m.ResidualMultiplier, (float?)m.AttentionMultiplier, (float?)m.LogitsScaling];
        Assert.Equal([12f, 0.22f, 0.015625f, 8f], Multipliers(o));
        Assert.Equal(Multipliers(o), Multipliers(c));
    }

    /// <summary>StableLMModel: its own keys (rotated dimensions 8 of 32, the parallel residual off, LayerNorm's ε), the LayerNorms' and q/k/v biases, rows not permuted, the tied head as output.weight.</summary>
    [Fact]
    public void StableLmExportsLayerNormBiasesPartialRotaryAndQkvBiases()
    {
        using var model = PretrainedModel.Load(TestData.TinyStableLmDir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "stablelm",
        [
            "stablelm.context_length", "stablelm.embedding_length", "stablelm.block_count", "stablelm.feed_forward_length",
            "stablelm.rope.dimension_count", "stablelm.attention.head_count", "stablelm.attention.head_count_kv",
            "stablelm.use_parallel_residual", "stablelm.attention.layer_norm_epsilon", "stablelm.rope.freq_base",
        ], ["token_embd.weight", "output_norm.weight", "output_norm.bias", "output.weight"], 2,
        [
            "attn_norm.weight", "attn_norm.bias", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias",
            "attn_output.weight", "ffn_norm.weight", "ffn_norm.bias", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
        ]);
        Assert.Equal(8, f.Metadata["stablelm.rope.dimension_count"].AsInt64());
        Assert.False(f.OptionalBool("stablelm.use_parallel_residual"));
        Assert.Equal(ConverterLayout.Values(model, "model.layers.1.self_attn.k_proj.bias"), f.ReadTensor("blk.1.attn_k.bias"));
        Assert.Equal(ConverterLayout.Values(model, "model.layers.0.post_attention_layernorm.bias"), f.ReadTensor("blk.0.ffn_norm.bias"));

        var c = ConverterLayout.ReadBack(f);
        Assert.Equal((NormKind.LayerNorm, 0.25, true, false, false, 1e-5f), (c.Norm, c.PartialRotaryFactor, c.QkvBias, c.OutputBias, c.TieWordEmbeddings, (float)c.RmsNormEps));
    }

    /// <summary>What llama.cpp's graph for the family cannot hold is refused by the config.json field, naming the architecture.</summary>
    [Theory]
    [InlineData("tiny-smollm3", null, "no_rope_layers", "every fourth layer ([3] here)")]
    [InlineData("tiny-smollm3-gguf", """{"attention_bias": true}""", "attention_bias", "smollm3")]
    [InlineData("tiny-smollm3-gguf", """{"mlp_bias": true}""", "mlp_bias", "smollm3")]
    [InlineData("tiny-smollm3-gguf", """{"use_sliding_window": true, "sliding_window": 16}""", "use_sliding_window", "smollm3")]
    [InlineData("tiny-olmo2", """{"attention_bias": true}""", "attention_bias", "olmo2")]
    [InlineData("tiny-olmo2", """{"head_dim": 16}""", "head_dim", "olmo2")]
    [InlineData("tiny-granite", """{"head_dim": 16}""", "head_dim", "granite")]
    public void WhatLlamaCppCannotHoldIsRefusedByItsField(string fixture, string? patch, string field, string mention)
        => ConverterLayout.AssertRefusedByField(ConverterLayout.Patched(fixture, patch, Dir), field, mention);
}
