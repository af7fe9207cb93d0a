using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// Mixtral exported as llama.cpp's converter writes it (its LlamaModel takes MixtralForCausalLM: architecture <c>llama</c>)
/// and read back: TextModel's expert keys, each layer's router as <c>ffn_gate_inp</c> (F32 in a quantized file) and its
/// experts' w1, w3, w2 stacked into <c>ffn_gate_exps</c>, <c>ffn_up_exps</c>, <c>ffn_down_exps</c>; a llama file with
/// <c>expert_count</c> reads back as the Mixtral folder it came from; what llama.cpp's llama cannot hold is refused by its
/// config.json field. llama.cpp's own reading of the export: <see cref="LlamaCppReferenceTests"/>.
/// </summary>
public sealed class GgufMixtralTests() : TempFolderTest("qt-gguf-mixtral-")
{
    /// <summary>
    /// The F32 export's keys and tensors (expert e of w1/w3/w2 in slice e of the gate/up/down stack, q/k permuted as llama's),
    /// the config it reads back as (mixtral, every layer sparse, Mixtral's names), every parameter read back equal to the
    /// folder's; at Q8_0 the router stays F32 and the stacks are Q8_0.
    /// </summary>
    [Fact]
    public void ExportsTheExpertsStackedAndReadsBackTheMixtralFolder()
    {
        using var model = PretrainedModel.Load(TestData.TinyMixtralGgufDir);
        string path = Path.Combine(Dir, "mixtral.gguf");
        GgufExport.Write(model, path, LlamaFileType.F32);
        using (var f = GgufFile.Open(path))
        {
            ConverterLayout.AssertKeys(f, "llama",
            [
                "llama.vocab_size", "llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                "llama.rope.dimension_count", "llama.attention.head_count", "llama.attention.head_count_kv", "llama.attention.key_length",
                "llama.attention.value_length", "llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base",
                "llama.expert_count", "llama.expert_used_count",
            ]);
            Assert.Equal((8L, 2L, 32L), (f.Metadata["llama.expert_count"].AsInt64(), f.Metadata["llama.expert_used_count"].AsInt64(), f.Metadata["llama.feed_forward_length"].AsInt64()));
            string[] perLayer = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"];
            ConverterLayout.AssertTensors(f, ["token_embd.weight", "output_norm.weight"], 2, ConverterLayout.Weights(perLayer));
            // GGUF dims are innermost first: llama.cpp's {n_embd, n_ff, n_expert} for gate and up, {n_ff, n_embd, n_expert} for down.
            Assert.Equal(new long[] { 64, 32, 8 }, f.TensorsByName["blk.0.ffn_gate_exps.weight"].Dims);
            Assert.Equal(new long[] { 64, 32, 8 }, f.TensorsByName["blk.0.ffn_up_exps.weight"].Dims);
            Assert.Equal(new long[] { 32, 64, 8 }, f.TensorsByName["blk.0.ffn_down_exps.weight"].Dims);
            Assert.Equal(new long[] { 64, 8 }, f.TensorsByName["blk.0.ffn_gate_inp.weight"].Dims);
            foreach (var (hf, gguf) in new[] { ("w1", "gate"), ("w3", "up"), ("w2", "down") })
            {
                float[] stack = f.ReadTensor($"blk.1.ffn_{gguf}_exps.weight");
                for (int e = 0; e < 8; e++)
                    Assert.Equal(ConverterLayout.Values(model, $"model.layers.1.block_sparse_moe.experts.{e}.{hf}.weight"), stack[(e * 32 * 64)..((e + 1) * 32 * 64)]);
            }
            Assert.Equal(ConverterLayout.Values(model, "model.layers.0.block_sparse_moe.gate.weight"), f.ReadTensor("blk.0.ffn_gate_inp.weight"));
        }

        var back = GgufImport.Load(path);
        var c = back.Config;
        Assert.Same(GgufArchitectures.Find("llama"), GgufArchitectures.For(c));
        Assert.Equal(("mixtral", "block_sparse_moe", 8, 2, 32, true), (c.ModelType, c.Names.Mlp, c.Experts!.NumExperts, c.Experts.ExpertsPerToken, c.Experts.ExpertIntermediateSize, c.Experts.NormTopKProb));
        Assert.Equal(("w1", "w3", "w2"), (c.Experts.ExpertNames.Gate, c.Experts.ExpertNames.Up, c.Experts.ExpertNames.Down));
        Assert.Equal((model.Config.HiddenSize, model.Config.IntermediateSize, model.Config.NumLayers, model.Config.NumHeads, model.Config.NumKvHeads, model.Config.HeadDim, model.Config.Rope.Theta, model.Config.TieWordEmbeddings, model.Config.SlidingWindow),
            (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim, c.Rope.Theta, c.TieWordEmbeddings, c.SlidingWindow));
        Assert.All(Enumerable.Range(0, c.NumLayers), l => Assert.True(c.IsSparse(l)));
        var parameters = model.Model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(parameters.Order(StringComparer.Ordinal), back.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var name in parameters)
            Assert.True(ConverterLayout.Values(model, name).SequenceEqual(back.Tensors[name].Values), name);

        var plan = GgufExport.Write(model, Path.Combine(Dir, "mixtral-q8_0.gguf"), LlamaFileType.Q8_0);
        Assert.Equal((GgmlType.F32, GgmlType.Q8_0, GgmlType.Q8_0), (plan["blk.1.ffn_gate_inp.weight"], plan["blk.1.ffn_gate_exps.weight"], plan["blk.1.ffn_down_exps.weight"]));
    }

    /// <summary>llama.cpp's llama has no sliding window, takes the experts of every layer and each expert feed_forward_length wide: what differs is refused by its field.</summary>
    [Theory]
    [InlineData("tiny-mixtral", null, "sliding_window", "no sliding window")]
    [InlineData("tiny-mixtral-gguf", """{"mlp_only_layers": [1]}""", "mlp_only_layers", "makes layer 1 dense")]
    [InlineData("tiny-mixtral-gguf", """{"moe_intermediate_size": 16}""", "moe_intermediate_size", "feed_forward_length")]
    public void WhatLlamaCppsLlamaCannotHoldIsRefusedByItsField(string fixture, string? patch, string field, string mention)
    {
        string folder = TestData.Fixture(fixture);
        if (patch is not null)
        {
            folder = Path.Combine(Dir, fixture);
            Directory.CreateDirectory(folder);
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.Fixture(fixture), "config.json")))!.AsObject();
            foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject()) config[key] = value?.DeepClone();
            File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        }
        var c = ModelConfig.Load(folder);
        var e = Assert.Throws<InvalidFormatException>(() => GgufArchitectures.For(c)!.CheckRepresentable(c, folder));
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains(Path.Combine(folder, "config.json"), e.Message);
        Assert.Contains(mention, e.Message);
    }
}
