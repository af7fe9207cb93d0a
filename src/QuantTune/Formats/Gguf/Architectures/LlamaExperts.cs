using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// Mixtral in a <c>llama</c> file (<see cref="LlamaArchitecture"/>): convert_hf_to_gguf.py's LlamaModel is registered for
/// MixtralForCausalLM too, and llama.cpp's llama graph takes a mixture of experts in every layer when <c>expert_count</c> is
/// set. TextModel writes <c>expert_count</c> (num_local_experts) and <c>expert_used_count</c> (num_experts_per_tok); each
/// expert is <c>feed_forward_length</c> (intermediate_size) wide. Each layer's router <c>block_sparse_moe.gate</c> is
/// <c>ffn_gate_inp</c> (kept F32, as llama-quantize keeps it) and its experts' <c>w1</c>, <c>w3</c> and <c>w2</c> are stacked
/// into <c>ffn_gate_exps</c>, <c>ffn_up_exps</c> and <c>ffn_down_exps</c> [experts, rows, columns] (the converter's merge
/// into <c>feed_forward.experts.{w1,w3,w2}</c>, gguf-py's FFN_GATE_EXP, FFN_UP_EXP, FFN_DOWN_EXP). llama.cpp's graph
/// (build_moe_ffn with softmax gating and norm_w) renormalizes the top-k routing weights, as MixtralSparseMoeBlock does.
/// A file with <c>expert_count</c> reads back as a <c>mixtral</c> model.
/// </summary>
public static class LlamaExperts
{
    /// <summary>MixtralBlockSparseTop2MLP's <c>w1</c>, <c>w3</c> and <c>w2</c> under <c>block_sparse_moe</c>, stacked as gate, up and down.</summary>
    static readonly ExpertStacks Stacks = new(MixtralFamily.SparseBlock, ("w1", "gate"), ("w3", "up"), ("w2", "down"));

    /// <summary>
    /// Refuses what llama.cpp's llama would compute otherwise: a sliding window (its graph has none, and the converter writes
    /// none), a dense layer (its loader takes the experts of every layer) and experts of another width than
    /// intermediate_size (its loader takes them <c>feed_forward_length</c> wide).
    /// </summary>
    public static void CheckRepresentable(ModelConfig config, string directory)
    {
        string file = Path.Combine(directory, "config.json");
        var moe = config.Experts!;
        if (config.SlidingWindow is int window)
            throw new InvalidFormatException(file, "sliding_window",
                $"is {window}; llama.cpp's llama has no sliding window, so a GGUF would compute other logits past {window} tokens (expected null, as Mixtral-8x7B's config has)");
        if (Enumerable.Range(0, config.NumLayers).FirstOrDefault(l => !config.IsSparse(l), -1) is int dense and >= 0)
            throw new InvalidFormatException(file, moe.DenseLayers.Count > 0 ? "mlp_only_layers" : "decoder_sparse_step",
                $"makes layer {dense} dense; llama.cpp's llama takes the experts of every layer of a file with expert_count, so a GGUF would not load (expected every layer sparse)");
        if (moe.ExpertIntermediateSize != config.IntermediateSize)
            throw new InvalidFormatException(file, "moe_intermediate_size",
                $"is {moe.ExpertIntermediateSize}; llama.cpp's llama takes each expert feed_forward_length (intermediate_size, {config.IntermediateSize}) wide (expected {config.IntermediateSize})");
        if (!moe.NormTopKProb)
            throw new InvalidFormatException(file, "norm_topk_prob", "is false; llama.cpp's llama always renormalizes the top-k routing weights (expected true)");
    }

    /// <summary>The keys TextModel writes for the experts: their count and how many each token uses.</summary>
    public static IEnumerable<(string Key, GgufValue Value)> Hyperparameters(string arch, MixtureOfExperts moe) =>
    [
        ($"{arch}.expert_count", GgufValue.Of((uint)moe.NumExperts)),
        ($"{arch}.expert_used_count", GgufValue.Of((uint)moe.ExpertsPerToken)),
    ];

    /// <summary>The router of layer N as <c>blk.N.ffn_gate_inp</c>, or null for another parameter.</summary>
    public static string? RouterName(string hf) => Stacks.RouterName(hf);

    /// <summary>The router's HF name of <c>blk.N.ffn_gate_inp</c>, or null for another tensor.</summary>
    public static string? RouterHfName(string gguf) => Stacks.RouterHfName(gguf);

    /// <summary>Expert e's w1, w3 or w2 of layer N: slice e of <c>blk.N.ffn_{gate,up,down}_exps</c>.</summary>
    public static (string Gguf, int Index, int Count)? MergedInto(string hf, MixtureOfExperts moe) => Stacks.MergedInto(hf, moe.NumExperts);

    /// <summary>The experts of <c>blk.N.ffn_{gate,up,down}_exps</c>, in order.</summary>
    public static IReadOnlyList<string>? HfSlices(string gguf, MixtureOfExperts moe) => Stacks.HfSlices(gguf, moe.NumExperts);

    /// <summary>
    /// <paramref name="config"/> (a llama file's) as Mixtral where the file has <c>expert_count</c>: every layer sparse, its
    /// experts <c>feed_forward_length</c> wide, the top-k weights renormalized; else null (a dense llama file).
    /// </summary>
    public static ModelConfig? ReadConfig(GgufFile file, string arch, ModelConfig config)
    {
        string countKey = $"{arch}.expert_count", usedKey = $"{arch}.expert_used_count";
        if (file.OptionalInteger(countKey, 0, int.MaxValue) is not long count || count == 0) return null;
        if (count > ModelDimensionLimits.MaxExperts)
            throw new InvalidFormatException(file.Path, countKey, $"is {count}; expected 0 (no experts) to {ModelDimensionLimits.MaxExperts}");
        long used = file.OptionalInteger(usedKey, 0, int.MaxValue)
            ?? throw new InvalidFormatException(file.Path, usedKey, $"is missing; a file with {countKey} needs it");
        if (used < 1 || used > count)
            throw new InvalidFormatException(file.Path, usedKey, $"is {used}; expected 1 to {countKey} ({count})");
        return config with
        {
            ModelType = "mixtral",
            Names = config.Names with { Mlp = MixtralFamily.SparseBlock },
            Experts = new MixtureOfExperts
            {
                NumExperts = (int)count,
                ExpertsPerToken = (int)used,
                ExpertIntermediateSize = config.IntermediateSize,
                NormTopKProb = true,
                ExpertNames = MixtralFamily.ExpertNames,
            },
        };
    }
}
