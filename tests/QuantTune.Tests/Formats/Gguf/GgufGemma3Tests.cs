using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// tiny-gemma3 exported as llama.cpp's converter writes Gemma 3 (conversion/gemma.py Gemma3Model and
/// TextModel.set_gguf_parameters, llama.cpp v0.5.0; gguf-py's MODEL_ARCH.GEMMA3 tensor list), and what
/// llama.cpp's gemma3 graph (src/models/gemma3.cpp) could not compute as the config says, refused.
/// </summary>
public sealed class GgufGemma3Tests() : TempFolderTest("qt-gguf-gemma3-")
{
    [Fact]
    public void Gemma3ExportsWithTheConvertersKeysAndTheLayerKindsLlamaCppReads()
    {
        using var model = PretrainedModel.Load(ConverterLayout.Patched("tiny-gemma3", """{"query_pre_attn_scalar": 32}""", Dir, withFiles: true));
        using var f = ConverterLayout.ExportMatching(model, Dir, "gemma3",
        [
            "gemma3.context_length", "gemma3.embedding_length", "gemma3.block_count", "gemma3.feed_forward_length",
            "gemma3.attention.head_count", "gemma3.attention.head_count_kv", "gemma3.attention.key_length", "gemma3.attention.value_length",
            "gemma3.attention.layer_norm_rms_epsilon", "gemma3.rope.freq_base", "gemma3.rope.scaling.type", "gemma3.rope.scaling.factor",
            "gemma3.rope.freq_base_swa", "gemma3.attention.sliding_window",
            // Not llama.cpp's default for gemma3 (five sliding layers, then a global one): the pattern, as the converter writes Cohere2's.
            "gemma3.attention.sliding_window_pattern",
        ], ["token_embd.weight", "output_norm.weight"], 3,
            ConverterLayout.Weights("attn_norm", "attn_q", "attn_q_norm", "attn_k", "attn_k_norm", "attn_v", "attn_output", "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm"));
        Assert.Equal(1e6, f.Metadata["gemma3.rope.freq_base"].AsDouble());
        Assert.Equal(1e4, f.Metadata["gemma3.rope.freq_base_swa"].AsDouble());
        Assert.Equal("linear", f.Metadata["gemma3.rope.scaling.type"].AsString());
        Assert.Equal(2.0, f.Metadata["gemma3.rope.scaling.factor"].AsDouble());
        Assert.Equal(16, f.Metadata["gemma3.attention.sliding_window"].AsInt64());
        Assert.Equal([true, true, false], f.Metadata["gemma3.attention.sliding_window_pattern"].AsArray<bool>());
        // Gemma3RMSNorm scales by (1 + w), q/k norms included: the converter writes w + 1.
        Assert.Equal(ConverterLayout.Values(model, "model.layers.2.self_attn.q_norm.weight").Select(v => v + 1f), f.ReadTensor("blk.2.attn_q_norm.weight"));
    }

    [Fact]
    public void AQueryScalarLlamaCppWouldReplaceByHeadDimIsRefusedWithTheField()
    {
        using var model = PretrainedModel.Load(TestData.TinyGemma3Dir);
        var e = Assert.Throws<InvalidFormatException>(() => GgufExport.Write(model, Path.Combine(Dir, "g.gguf"), LlamaFileType.F32));
        Assert.Contains("query_pre_attn_scalar", e.Message);
        Assert.Contains("head_dim (32)", e.Message);
        Assert.False(File.Exists(Path.Combine(Dir, "g.gguf")));
    }
}
