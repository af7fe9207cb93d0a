using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// tiny-qwen3 exported as llama.cpp's convert_hf_to_gguf.py writes Qwen3 (Qwen3Model → Qwen2Model →
/// TextModel.set_gguf_parameters; gguf-py's MODEL_ARCH.QWEN3 tensor list): architecture qwen3,
/// qwen3.* keys with key/value length from head_dim, attn_q_norm/attn_k_norm, q/k rows not permuted;
/// tiny-qwen2 and tiny-gemma2 as Qwen2Model and Gemma2Model write them.
/// </summary>
public sealed class GgufQwen3Tests() : TempFolderTest("qt-gguf-qwen3-")
{
    [Fact]
    public void Qwen3ExportsWithTheConvertersArchitectureKeysAndTensorNames()
    {
        using var model = PretrainedModel.Load(TestData.TinyQwen3Dir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "qwen3",
        [
            "qwen3.context_length", "qwen3.embedding_length", "qwen3.block_count", "qwen3.feed_forward_length",
            "qwen3.attention.head_count", "qwen3.attention.head_count_kv", "qwen3.attention.key_length", "qwen3.attention.value_length",
            "qwen3.attention.layer_norm_rms_epsilon", "qwen3.rope.freq_base",
        ], ["token_embd.weight", "output_norm.weight", "output.weight"], 2,
            ConverterLayout.Weights("attn_norm", "attn_q", "attn_q_norm", "attn_k", "attn_k_norm", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"));
        Assert.Equal(32, f.Metadata["qwen3.attention.key_length"].AsInt64());
        Assert.Equal(64, f.Metadata["qwen3.embedding_length"].AsInt64());
        Assert.Equal(1e6, f.Metadata["qwen3.rope.freq_base"].AsDouble());
        Assert.Equal(new long[] { 32 }, f.TensorsByName["blk.1.attn_k_norm.weight"].Dims);
        // NEOX RoPE: q rows stay in Hugging Face order.
        Assert.Equal(ConverterLayout.Values(model, "model.layers.1.self_attn.q_proj.weight"), f.ReadTensor("blk.1.attn_q.weight"));
    }

    /// <summary>Qwen2Model (TextModel.set_gguf_parameters): no key/value length (config.json has no head_dim), q/k/v biases, no output.weight for a tied head, rows not permuted.</summary>
    [Fact]
    public void Qwen2ExportsWithTheConvertersKeysBiasesAndNoHeadWhenTied()
    {
        using var model = PretrainedModel.Load(TestData.TinyQwen2Dir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "qwen2",
        [
            "qwen2.context_length", "qwen2.embedding_length", "qwen2.block_count", "qwen2.feed_forward_length",
            "qwen2.attention.head_count", "qwen2.attention.head_count_kv", "qwen2.attention.layer_norm_rms_epsilon", "qwen2.rope.freq_base",
        ], ["token_embd.weight", "output_norm.weight"], 3,
            ["attn_norm.weight", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias", "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"]);
        Assert.Equal(ConverterLayout.Values(model, "model.layers.2.self_attn.k_proj.bias"), f.ReadTensor("blk.2.attn_k.bias"));
    }

    /// <summary>Gemma2Model in convert_hf_to_gguf.py: its keys (soft-caps, window, no RoPE base), lm_head skipped, the norms' weights + 1, Gemma's four norm names.</summary>
    [Fact]
    public void Gemma2ExportsWithTheConvertersKeysNormNamesAndNormsPlusOne()
    {
        using var model = PretrainedModel.Load(TestData.TinyGemma2Dir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "gemma2",
        [
            "gemma2.context_length", "gemma2.embedding_length", "gemma2.block_count", "gemma2.feed_forward_length",
            "gemma2.attention.head_count", "gemma2.attention.head_count_kv", "gemma2.attention.key_length", "gemma2.attention.value_length",
            "gemma2.attention.layer_norm_rms_epsilon", "gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping", "gemma2.attention.sliding_window",
        ], ["token_embd.weight", "output_norm.weight"], 3,
            ConverterLayout.Weights("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm"));
        Assert.Equal(1.5, f.Metadata["gemma2.final_logit_softcapping"].AsDouble(), 6);
        Assert.Equal(ConverterLayout.Values(model, "model.layers.1.pre_feedforward_layernorm.weight").Select(v => v + 1f), f.ReadTensor("blk.1.ffn_norm.weight"));
    }

    /// <summary>llama.cpp's gemma2 scales attention by 1/√head_dim (1/√(hidden/heads) for the 46-layer 27B) and has no key for query_pre_attn_scalar.</summary>
    [Fact]
    public void Gemma2ExportRefusesAQueryScalarLlamaCppWouldReplaceByHeadDim()
    {
        using var model = PretrainedModel.Load(ConverterLayout.Patched("tiny-gemma2", """{"query_pre_attn_scalar": 24}""", Dir, withFiles: true));
        var e = Assert.Throws<InvalidFormatException>(() => GgufExport.Write(model, Path.Combine(Dir, "g.gguf"), LlamaFileType.F32));
        Assert.Contains("query_pre_attn_scalar", e.Message);
        Assert.Contains("gemma2", e.Message);
        Assert.Contains("head_dim (32)", e.Message);
        Assert.False(File.Exists(Path.Combine(Dir, "g.gguf")));
    }
}
