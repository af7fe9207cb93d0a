using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// What convert_hf_to_gguf.py's Qwen2MoeModel (and Qwen3MoeModel on it) writes: TextModel's keys with <c>expert_count</c>,
/// <c>expert_used_count</c> and <c>expert_feed_forward_length</c>, each layer's router <c>mlp.gate</c> as
/// <c>ffn_gate_inp</c> (kept F32) and its experts' projections stacked into one 3-D tensor each,
/// <c>ffn_{gate,up,down}_exps</c> [experts, rows, columns]. llama.cpp's graphs for these architectures require the experts in
/// every layer and fix whether the top-k routing weights are renormalized (<see cref="RenormalizesTopK"/>).
/// </summary>
public abstract class QwenMoeArchitecture : TextModelArchitecture
{
    /// <summary>Whether llama.cpp's graph renormalizes the top-k routing weights (its build_moe_ffn's norm_w): config.json's norm_topk_prob must say the same.</summary>
    protected abstract bool RenormalizesTopK { get; }

    /// <summary>
    /// Refuses a dense layer (mlp_only_layers, or decoder_sparse_step above 1): llama.cpp loads the router and experts of
    /// every layer, so a GGUF would not load; and a norm_topk_prob other than llama.cpp's graph computes.
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        string file = Path.Combine(directory, "config.json");
        var moe = config.Experts!;
        if (moe.DenseLayers.Count > 0)
            throw new InvalidFormatException(file, "mlp_only_layers",
                $"makes layers [{string.Join(", ", moe.DenseLayers)}] dense; llama.cpp's {Name} requires the experts in every layer and has no dense MLP, so a GGUF would not load (expected [])");
        if (moe.SparseStep != 1)
            throw new InvalidFormatException(file, "decoder_sparse_step",
                $"is {moe.SparseStep}; llama.cpp's {Name} requires the experts in every layer and has no dense MLP, so a GGUF would not load (expected 1)");
        if (moe.NormTopKProb != RenormalizesTopK)
            throw new InvalidFormatException(file, "norm_topk_prob",
                $"is {(moe.NormTopKProb ? "true" : "false")}; llama.cpp's {Name} {(RenormalizesTopK ? "always" : "never")} renormalizes the top-k routing weights, so a GGUF would compute other logits (expected {(RenormalizesTopK ? "true" : "false")})");
    }

    /// <summary>TextModel's keys, then the experts' count, how many each token uses and their width.</summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        foreach (var kv in base.Hyperparameters(config)) yield return kv;
        var moe = config.Experts!;
        yield return (Key("expert_count"), GgufValue.Of((uint)moe.NumExperts));
        yield return (Key("expert_used_count"), GgufValue.Of((uint)moe.ExpertsPerToken));
        yield return (Key("expert_feed_forward_length"), GgufValue.Of((uint)moe.ExpertIntermediateSize));
    }

    /// <summary>Qwen's experts under <c>mlp</c>, their <c>gate_proj</c>, <c>up_proj</c> and <c>down_proj</c>.</summary>
    static readonly ExpertStacks Stacks = new("mlp", ("gate_proj", "gate"), ("up_proj", "up"), ("down_proj", "down"));

    /// <summary>The router as <c>ffn_gate_inp</c>; the rest as TextModel's.</summary>
    public override string? TensorName(string hf) => Stacks.RouterName(hf) ?? base.TensorName(hf);

    /// <summary>Expert e's gate, up or down projection of layer N: slice e of <c>blk.N.ffn_{gate,up,down}_exps</c>.</summary>
    public override (string Gguf, int Index, int Count)? MergedInto(string hf, ModelConfig config) =>
        config.Experts is { } moe ? Stacks.MergedInto(hf, moe.NumExperts) : null;

    /// <summary>The experts of <c>blk.N.ffn_{gate,up,down}_exps</c>, in order.</summary>
    public override IReadOnlyList<string>? HfSlices(string gguf, ModelConfig config) =>
        config.Experts is { } moe ? Stacks.HfSlices(gguf, moe.NumExperts) : null;

    /// <inheritdoc/>
    public override string? HfName(string gguf, ModelConfig config) => Stacks.RouterHfName(gguf) ?? base.HfName(gguf, config);

    /// <summary>TextModel's config with a mixture of experts in every layer, its top-k weights renormalized as llama.cpp's graph does.</summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        int experts = Int(file, Key("expert_count")), used = Int(file, Key("expert_used_count")), width = Int(file, Key("expert_feed_forward_length"));
        if (experts < 1 || experts > ModelDimensionLimits.MaxExperts)
            throw new InvalidFormatException(file.Path, Key("expert_count"), $"is {experts}; expected 1 to {ModelDimensionLimits.MaxExperts}");
        if (used < 1 || used > experts)
            throw new InvalidFormatException(file.Path, Key("expert_used_count"), $"is {used}; expected 1 to {Key("expert_count")} ({experts})");
        if (width < 1 || width > ModelDimensionLimits.MaxIntermediate)
            throw new InvalidFormatException(file.Path, Key("expert_feed_forward_length"), $"is {width}; expected 1 to {ModelDimensionLimits.MaxIntermediate}");
        return base.ReadConfig(file) with
        {
            Experts = new MixtureOfExperts { NumExperts = experts, ExpertsPerToken = used, ExpertIntermediateSize = width, NormTopKProb = RenormalizesTopK },
        };
    }

    /// <inheritdoc/>
    public override string KeyOf(string configField) => configField switch
    {
        "num_experts" => Key("expert_count"),
        "num_experts_per_tok" => Key("expert_used_count"),
        "moe_intermediate_size" => Key("expert_feed_forward_length"),
        _ => base.KeyOf(configField),
    };
}
