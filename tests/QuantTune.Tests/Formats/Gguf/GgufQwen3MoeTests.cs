using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// Qwen3-MoE and Qwen2-MoE exported as llama.cpp's converter writes them (conversion/qwen.py, Qwen3MoeModel on Qwen2MoeModel) and its loader
/// reads them (src/models/qwen3moe.cpp, qwen2moe.cpp): the expert keys, each layer's experts stacked into one 3-D tensor per projection
/// (expert e is slice e), the router kept F32 in a quantized file, the stacks split back into experts on import (as blocks
/// where kept), and what llama.cpp's qwen3moe cannot hold refused by its config.json field.
/// </summary>
public sealed class GgufQwen3MoeTests() : TempFolderTest("qt-gguf-qwen3moe-")
{
    /// <summary>TextModel's keys with key/value length and the three expert keys; ffn_gate_inp and ffn_{gate,up,down}_exps per layer, expert e in slice e.</summary>
    [Fact]
    public void ExportsTheExpertKeysTheRouterAndTheExpertsStackedPerLayer()
    {
        using var model = PretrainedModel.Load(TestData.TinyQwen3MoeGgufDir);
        using var f = ConverterLayout.ExportMatching(model, Dir, "qwen3moe",
        [
            "qwen3moe.context_length", "qwen3moe.embedding_length", "qwen3moe.block_count", "qwen3moe.feed_forward_length",
            "qwen3moe.attention.head_count", "qwen3moe.attention.head_count_kv", "qwen3moe.attention.key_length", "qwen3moe.attention.value_length",
            "qwen3moe.attention.layer_norm_rms_epsilon", "qwen3moe.rope.freq_base",
            "qwen3moe.expert_count", "qwen3moe.expert_used_count", "qwen3moe.expert_feed_forward_length",
        ], ["token_embd.weight", "output_norm.weight"], 3,
            ConverterLayout.Weights("attn_norm", "attn_q", "attn_q_norm", "attn_k", "attn_k_norm", "attn_v", "attn_output", "ffn_norm", "ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"));
        Assert.Equal((8L, 2L, 32L), (f.Metadata["qwen3moe.expert_count"].AsInt64(), f.Metadata["qwen3moe.expert_used_count"].AsInt64(), f.Metadata["qwen3moe.expert_feed_forward_length"].AsInt64()));
        // GGUF dims are innermost first: llama.cpp's {n_embd, n_ff_exp, n_expert} and {n_ff_exp, n_embd, n_expert}.
        Assert.Equal(new long[] { 64, 32, 8 }, f.TensorsByName["blk.0.ffn_gate_exps.weight"].Dims);
        Assert.Equal(new long[] { 32, 64, 8 }, f.TensorsByName["blk.0.ffn_down_exps.weight"].Dims);
        Assert.Equal(new long[] { 64, 8 }, f.TensorsByName["blk.0.ffn_gate_inp.weight"].Dims);
        float[] up = f.ReadTensor("blk.2.ffn_up_exps.weight");
        for (int e = 0; e < 8; e++)
            Assert.Equal(ConverterLayout.Values(model, $"model.layers.2.mlp.experts.{e}.up_proj.weight"), up[(e * 32 * 64)..((e + 1) * 32 * 64)]);
        Assert.Equal(ConverterLayout.Values(model, "model.layers.1.mlp.gate.weight"), f.ReadTensor("blk.1.ffn_gate_inp.weight"));

        var c = ConverterLayout.ReadBack(f);
        Assert.Equal(("qwen3_moe", true, 8, 2, 32, true), (c.ModelType, c.QkNorm, c.Experts!.NumExperts, c.Experts.ExpertsPerToken, c.Experts.ExpertIntermediateSize, c.Experts.NormTopKProb));
        Assert.All(Enumerable.Range(0, 3), l => Assert.True(c.IsSparse(l)));
    }

    /// <summary>
    /// At Q8_0 the router stays F32 (llama-quantize never quantizes ffn_gate_inp) and the stacks are Q8_0; read keeping blocks,
    /// each expert's weight is its slice of the stack's blocks, its values those of the stack dequantized, and the model built
    /// on them gives the dequantized model's logits.
    /// </summary>
    [Fact]
    public void AQuantizedStackSplitsIntoEachExpertsBlocks()
    {
        string path = Path.Combine(Dir, "qwen3moe-q8_0.gguf");
        using (var source = PretrainedModel.Load(TestData.TinyQwen3MoeGgufDir))
        {
            var plan = GgufExport.Write(source, path, LlamaFileType.Q8_0);
            Assert.Equal(GgmlType.F32, plan["blk.0.ffn_gate_inp.weight"]);
            Assert.Equal(GgmlType.Q8_0, plan["blk.0.ffn_down_exps.weight"]);
        }
        var dense = GgufImport.Load(path);
        var keeping = GgufImport.Load(path, keepBlocks: true);
        var down = keeping.Blocks["model.layers.1.mlp.experts.5.down_proj.weight"];
        Assert.Equal(GgmlType.Q8_0, down.Type);
        Assert.Equal(new long[] { 64, 32 }, down.Shape);
        Assert.Equal(dense.Tensors["model.layers.1.mlp.experts.5.down_proj.weight"].Values, GgmlCodec.Dequantize(down.Type, down.Bytes, 64 * 32));

        using var ids = tensor(Enumerable.Range(0, 24).Select(i => (long)(i * 97 % 4096)).ToArray(), [1, 24]);
        using CausalLM onFloats = GgufImport.ToCausalLM(dense), onBlocks = GgufImport.ToCausalLM(keeping);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        float[] expected = onFloats.Forward(ids).data<float>().ToArray(), actual = onBlocks.Forward(ids).data<float>().ToArray();
        double gap = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / expected.Max(MathF.Abs);
        Assert.InRange(gap, 0, 0.1);
    }

    /// <summary>Qwen2MoeModel: the mixture's keys with the shared expert's width; the shared expert as ffn_*_shexp, its gate as ffn_gate_inp_shexp (F32 at Q8_0, one row); the tied head as output.weight.</summary>
    [Fact]
    public void Qwen2MoeExportsTheSharedExpertBehindItsGateAndTheTiedHeadAsOutput()
    {
        using var model = PretrainedModel.Load(TestData.TinyQwen2MoeGgufDir);
        string path = Path.Combine(Dir, "qwen2moe-q8_0.gguf");
        var plan = GgufExport.Write(model, path, LlamaFileType.Q8_0);
        Assert.Equal((GgmlType.F32, GgmlType.F32, GgmlType.Q8_0), (plan["blk.0.ffn_gate_inp_shexp.weight"], plan["blk.0.ffn_gate_inp.weight"], plan["blk.0.ffn_up_shexp.weight"]));
        using var f = ConverterLayout.Export(model, Dir, "qwen2moe");
        Assert.Equal(64, f.Metadata["qwen2moe.expert_shared_feed_forward_length"].AsInt64());
        string[] perLayer =
        [
            "attn_norm.weight", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias", "attn_output.weight", "ffn_norm.weight",
            "ffn_gate_inp.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight",
            "ffn_gate_inp_shexp.weight", "ffn_gate_shexp.weight", "ffn_up_shexp.weight", "ffn_down_shexp.weight",
        ];
        ConverterLayout.AssertTensors(f, ["token_embd.weight", "output_norm.weight", "output.weight"], 3, perLayer);
        Assert.Equal(ConverterLayout.Values(model, "model.layers.2.mlp.shared_expert_gate.weight"), f.ReadTensor("blk.2.ffn_gate_inp_shexp.weight"));
        Assert.Equal(ConverterLayout.Values(model, "model.layers.0.mlp.shared_expert.down_proj.weight"), f.ReadTensor("blk.0.ffn_down_shexp.weight"));

        var c = ConverterLayout.ReadBack(f);
        Assert.Equal(("qwen2_moe", false, 64, true, true), (c.ModelType, c.Experts!.NormTopKProb, c.Experts.Shared!.IntermediateSize, c.Experts.Shared.Gated, c.QkvBias));
    }

    /// <summary>llama.cpp's qwen3moe and qwen2moe load experts in every layer and fix the top-k renormalization (qwen2moe also the shared expert): what differs is refused by its field.</summary>
    [Theory]
    [InlineData("tiny-qwen3-moe", null, "mlp_only_layers", "makes layers [1] dense")]
    [InlineData("tiny-qwen3-moe-gguf", """{"decoder_sparse_step": 2}""", "decoder_sparse_step", "qwen3moe")]
    [InlineData("tiny-qwen3-moe-gguf", """{"norm_topk_prob": false}""", "norm_topk_prob", "renormalizes")]
    [InlineData("tiny-qwen2-moe", null, "mlp_only_layers", "qwen2moe")]
    [InlineData("tiny-qwen2-moe-gguf", """{"norm_topk_prob": true}""", "norm_topk_prob", "never renormalizes")]
    [InlineData("tiny-qwen2-moe-gguf", """{"shared_expert_intermediate_size": 0}""", "shared_expert_intermediate_size", "qwen2moe")]
    public void WhatLlamaCppCannotHoldIsRefusedByItsField(string fixture, string? patch, string field, string mention)
        => ConverterLayout.AssertRefusedByField(ConverterLayout.Patched(fixture, patch, Dir), field, mention);
}
