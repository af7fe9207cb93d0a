using QuantTune.Formats.Gguf;
using QuantTune.Models.Config;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// The tensor types of each llama.cpp file type, against tables written by hand from
/// ggml-org/llama.cpp src/llama-quant.cpp (llama_tensor_get_type_impl, tensor_type_fallback).
/// A cell is a type, or "TYPE@layers;TYPE" for a type on some layers and another on the rest.
/// </summary>
public sealed class GgufMixtureTests
{
    // use_more_bits(i, n): i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2.
    const string MoreBits32 = "0-3,6,9,12,15,18,21,24,27-31";
    const string MoreBits4 = "2-3";

    static readonly string[] Columns = ["token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

    // Float files, Q8_0 and the legacy 32-element quants: one type everywhere except the output
    // (Q6_K, but Q8_0 stays Q8_0); the same for both models (their rows are multiples of 32).
    static readonly Dictionary<LlamaFileType, string[]> Uniform = new()
    {
        [LlamaFileType.F32] = ["F32", "F32", "F32", "F32", "F32", "F32", "F32", "F32", "F32"],
        [LlamaFileType.F16] = ["F16", "F16", "F16", "F16", "F16", "F16", "F16", "F16", "F16"],
        [LlamaFileType.BF16] = ["BF16", "BF16", "BF16", "BF16", "BF16", "BF16", "BF16", "BF16", "BF16"],
        [LlamaFileType.Q8_0] = ["Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"],
        [LlamaFileType.Q4_0] = ["Q4_0", "Q6_K", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0"],
        [LlamaFileType.Q4_1] = ["Q4_1", "Q6_K", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1"],
        [LlamaFileType.Q5_0] = ["Q5_0", "Q6_K", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0"],
        [LlamaFileType.Q5_1] = ["Q5_1", "Q6_K", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1"],
    };

    // 7B: 32 layers, 32 heads (no GQA), hidden 4096, MLP 11008 (a multiple of 256: no fallback).
    static readonly Dictionary<LlamaFileType, string[]> Llama7B = new(Uniform)
    {
        [LlamaFileType.Q2_K] = ["Q2_K", "Q6_K", "Q2_K", "Q2_K", "Q3_K", "Q3_K", "Q2_K", "Q2_K", "Q3_K"],
        [LlamaFileType.Q3_K_S] = ["Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K"],
        [LlamaFileType.Q3_K_M] = ["Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q5_K@0-1;Q4_K", "Q4_K", "Q3_K", "Q3_K", "Q5_K@0-1;Q4_K"],
        [LlamaFileType.Q3_K_L] = ["Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q5_K", "Q5_K", "Q3_K", "Q3_K", "Q5_K"],
        [LlamaFileType.Q4_K_S] = ["Q4_K", "Q6_K", "Q4_K", "Q4_K", "Q5_K@0-3;Q4_K", "Q4_K", "Q4_K", "Q4_K", "Q5_K@0-3;Q4_K"],
        [LlamaFileType.Q4_K_M] = ["Q4_K", "Q6_K", "Q4_K", "Q4_K", $"Q6_K@{MoreBits32};Q4_K", "Q4_K", "Q4_K", "Q4_K", $"Q6_K@{MoreBits32};Q4_K"],
        [LlamaFileType.Q5_K_S] = ["Q5_K", "Q6_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K"],
        [LlamaFileType.Q5_K_M] = ["Q5_K", "Q6_K", "Q5_K", "Q5_K", $"Q6_K@{MoreBits32};Q5_K", "Q5_K", "Q5_K", "Q5_K", $"Q6_K@{MoreBits32};Q5_K"],
        [LlamaFileType.Q6_K] = ["Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K"],
        [LlamaFileType.TQ1_0] = ["Q4_K", "Q6_K", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0"],
        [LlamaFileType.TQ2_0] = ["Q4_K", "Q6_K", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0"],
    };

    // tiny-llama: 4 layers, 8 heads / 4 kv heads (GQA 2), hidden 256, MLP 704: ffn_down rows of 704
    // are not a multiple of 256, so k-quants there fall back (Q2_K/Q3_K/TQ → Q4_0, Q4_K → Q5_0,
    // Q5_K → Q5_1, Q6_K → Q8_0). n/8 = n/16 = 0, so the "first layers" rules pick none.
    static readonly Dictionary<LlamaFileType, string[]> TinyLlama = new(Uniform)
    {
        [LlamaFileType.Q2_K] = ["Q2_K", "Q6_K", "Q2_K", "Q2_K", "Q3_K", "Q3_K", "Q2_K", "Q2_K", "Q4_0"],
        [LlamaFileType.Q3_K_S] = ["Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q4_0"],
        [LlamaFileType.Q3_K_M] = ["Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q5_K@0-1;Q4_K", "Q4_K", "Q3_K", "Q3_K", "Q5_0"],
        [LlamaFileType.Q3_K_L] = ["Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q5_K", "Q5_K", "Q3_K", "Q3_K", "Q5_1"],
        [LlamaFileType.Q4_K_S] = ["Q4_K", "Q6_K", "Q4_K", "Q4_K", "Q5_K", "Q4_K", "Q4_K", "Q4_K", "Q5_0"],
        [LlamaFileType.Q4_K_M] = ["Q4_K", "Q6_K", "Q4_K", "Q4_K", $"Q6_K@{MoreBits4};Q4_K", "Q4_K", "Q4_K", "Q4_K", $"Q8_0@{MoreBits4};Q5_0"],
        [LlamaFileType.Q5_K_S] = ["Q5_K", "Q6_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_1"],
        [LlamaFileType.Q5_K_M] = ["Q5_K", "Q6_K", "Q5_K", "Q5_K", $"Q6_K@{MoreBits4};Q5_K", "Q5_K", "Q5_K", "Q5_K", $"Q8_0@{MoreBits4};Q5_1"],
        [LlamaFileType.Q6_K] = ["Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q8_0"],
        [LlamaFileType.TQ1_0] = ["Q4_K", "Q6_K", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0", "TQ1_0", "Q4_0"],
        [LlamaFileType.TQ2_0] = ["Q4_K", "Q6_K", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0", "TQ2_0", "Q4_0"],
    };

    /// <summary>The GGUF tensors of a llama model, in HF parameter order (the mixture must not depend on it).</summary>
    static List<GgufTensorShape> Tensors(int layers, int hidden, int mlp, int vocab, int heads, int kvHeads, bool tied = false)
    {
        int headDim = hidden / heads;
        var list = new List<GgufTensorShape> { new("token_embd.weight", [vocab, hidden]) };
        for (int i = 0; i < layers; i++)
        {
            list.Add(new($"blk.{i}.attn_q.weight", [heads * headDim, hidden]));
            list.Add(new($"blk.{i}.attn_k.weight", [kvHeads * headDim, hidden]));
            list.Add(new($"blk.{i}.attn_v.weight", [kvHeads * headDim, hidden]));
            list.Add(new($"blk.{i}.attn_output.weight", [hidden, heads * headDim]));
            list.Add(new($"blk.{i}.ffn_gate.weight", [mlp, hidden]));
            list.Add(new($"blk.{i}.ffn_up.weight", [mlp, hidden]));
            list.Add(new($"blk.{i}.ffn_down.weight", [hidden, mlp]));
            list.Add(new($"blk.{i}.attn_norm.weight", [hidden]));
            list.Add(new($"blk.{i}.ffn_norm.weight", [hidden]));
        }
        list.Add(new("output_norm.weight", [hidden]));
        if (!tied) list.Add(new("output.weight", [vocab, hidden]));
        return list;
    }

    /// <summary>The type a table cell gives layer <paramref name="layer"/>.</summary>
    static string Cell(string cell, int layer)
    {
        foreach (var part in cell.Split(';'))
        {
            var at = part.Split('@');
            if (at.Length == 1) return part;
            foreach (var range in at[1].Split(','))
            {
                var ends = range.Split('-').Select(int.Parse).ToArray();
                if (layer >= ends[0] && layer <= ends[^1]) return at[0];
            }
        }
        throw new InvalidOperationException($"cell '{cell}' has no type for layer {layer}");
    }

    static void AssertTable(Dictionary<LlamaFileType, string[]> table, List<GgufTensorShape> tensors, LlamaMixtureModel model)
    {
        Assert.Equal(Enum.GetValues<LlamaFileType>().Order(), table.Keys.Order());
        foreach (var (fileType, row) in table)
        {
            var plan = GgufMixture.Plan(fileType, tensors, model);
            Assert.Equal(tensors.Count, plan.Count);
            foreach (var t in tensors)
            {
                var parts = t.Name.Split('.');
                string expected = t.Name.Contains("norm") ? "F32"
                    : parts[0] == "blk" ? Cell(row[Array.IndexOf(Columns, parts[2])], int.Parse(parts[1]))
                    : row[Array.IndexOf(Columns, parts[0])];
                Assert.True(expected == plan[t.Name].ToString(), $"{fileType}: {t.Name} is {plan[t.Name]}, llama.cpp gives {expected}");
            }
        }
    }

    [Fact]
    public void Llama7BMixturesMatchLlamaCpp()
    {
        var tensors = Tensors(layers: 32, hidden: 4096, mlp: 11008, vocab: 32000, heads: 32, kvHeads: 32);
        AssertTable(Llama7B, tensors, new LlamaMixtureModel(32, 32, 32));
        // The loader's order, not the caller's, drives the per-layer counters.
        tensors.Reverse();
        AssertTable(Llama7B, tensors, new LlamaMixtureModel(32, 32, 32));
    }

    [Fact]
    public void TinyLlamaMixturesMatchLlamaCppIncludingTheFallbackForRowsOf704()
    {
        var config = ModelConfig.Load(TestData.TinyLlamaDir);
        var tensors = Tensors(config.NumLayers, config.HiddenSize, config.IntermediateSize, config.VocabSize, config.NumHeads, config.NumKvHeads);
        AssertTable(TinyLlama, tensors, GgufExport.MixtureModel(config));
    }

    [Fact]
    public void GroupedQueryAttentionSeventyBAndTiedEmbeddingRules()
    {
        // Llama-3-8B shape: GQA 4 → attn_v of Q2_K is Q4_K.
        var gqa = Tensors(layers: 32, hidden: 4096, mlp: 14336, vocab: 128256, heads: 32, kvHeads: 8);
        var plan = GgufMixture.Plan(LlamaFileType.Q2_K, gqa, new LlamaMixtureModel(32, 32, 8));
        Assert.Equal(GgmlType.Q4_K, plan["blk.7.attn_v.weight"]);
        Assert.Equal(GgmlType.Q3_K, plan["blk.7.ffn_down.weight"]);

        // Llama-2-70B (80 layers, 64 heads, 8 kv heads): attn_v Q3_K/Q4_K are bumped to Q5_K.
        var c70 = ModelConfig.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "llama-2-70b.json"));
        var t70 = Tensors(c70.NumLayers, c70.HiddenSize, c70.IntermediateSize, c70.VocabSize, c70.NumHeads, c70.NumKvHeads);
        var m70 = GgufExport.MixtureModel(c70);
        Assert.True(m70.Is70B);
        Assert.All(GgufMixture.Plan(LlamaFileType.Q2_K, t70, m70).Where(p => p.Key.EndsWith("attn_v.weight")), p => Assert.Equal(GgmlType.Q5_K, p.Value));
        Assert.All(GgufMixture.Plan(LlamaFileType.Q3_K_S, t70, m70).Where(p => p.Key.EndsWith("attn_v.weight")), p => Assert.Equal(GgmlType.Q5_K, p.Value));
        var q4km = GgufMixture.Plan(LlamaFileType.Q4_K_M, t70, m70);
        // n = 80: use_more_bits is i < 10, i >= 70, or (i - 10) % 3 == 2.
        Assert.Equal(GgmlType.Q6_K, q4km["blk.0.attn_v.weight"]);
        Assert.Equal(GgmlType.Q5_K, q4km["blk.11.attn_v.weight"]);
        Assert.Equal(GgmlType.Q6_K, q4km["blk.12.attn_v.weight"]);
        Assert.Equal(GgmlType.Q4_K, q4km["blk.11.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q6_K, q4km["blk.70.ffn_down.weight"]);

        // Tied embeddings (no output.weight): token_embd is quantized as the output would be.
        var tied = Tensors(layers: 4, hidden: 256, mlp: 768, vocab: 1000, heads: 4, kvHeads: 4, tied: true);
        Assert.Equal(GgmlType.Q6_K, GgufMixture.Plan(LlamaFileType.Q4_K_M, tied, new LlamaMixtureModel(4, 4, 4))["token_embd.weight"]);
        Assert.Equal(GgmlType.Q6_K, GgufMixture.Plan(LlamaFileType.Q4_0, tied, new LlamaMixtureModel(4, 4, 4))["token_embd.weight"]);
    }

    [Fact]
    public void FileTypeIdsAndNamesAreLlamaCpps()
    {
        // llama.h: enum llama_ftype.
        Assert.Equal(15u, (uint)LlamaFileType.Q4_K_M);
        Assert.Equal(9u, (uint)LlamaFileType.Q5_1);
        Assert.Equal(32u, (uint)LlamaFileType.BF16);
        Assert.Equal(37u, (uint)LlamaFileType.TQ2_0);
        Assert.Equal(LlamaFileType.Q3_K_L, LlamaFileTypes.Parse("Q3_k_l"));
        Assert.Null(LlamaFileTypes.Parse("q4_k"));
        Assert.Equal("Q6_K", LlamaFileTypes.NameOf(18));
        Assert.Null(LlamaFileTypes.NameOf(19));
        Assert.Equal(19, LlamaFileTypes.Names.Count);
    }
}
