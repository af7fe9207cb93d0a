using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// <c>qwen2moe</c>: convert_hf_to_gguf.py's Qwen2MoeModel (<see cref="QwenMoeArchitecture"/>) on Qwen2's decoder (q/k/v
/// biases), plus <c>expert_shared_feed_forward_length</c> and the shared expert as <c>ffn_{gate,up,down}_shexp</c> behind
/// its gate <c>ffn_gate_inp_shexp</c>. llama.cpp's qwen2moe (src/models/qwen2moe.cpp) never renormalizes the top-k routing
/// weights, requires the shared expert and its gate in every layer and <c>output.weight</c> (a tied head is written as one).
/// </summary>
public sealed partial class Qwen2MoeArchitecture : QwenMoeArchitecture
{
    /// <inheritdoc/>
    public override string Name => "qwen2moe";

    /// <inheritdoc/>
    public override string ModelType => "qwen2_moe";

    /// <inheritdoc/>
    public override bool Takes(ModelFamily family) => family is Qwen2MoeFamily;

    /// <inheritdoc/>
    protected override bool RenormalizesTopK => false;

    /// <summary>llama.cpp's qwen2moe loads output.weight without a fallback to the embedding.</summary>
    public override bool WritesTiedHead => true;

    /// <summary>As Qwen2's: the head size is hidden / heads unless a config says otherwise.</summary>
    protected override bool WritesHeadLength(ModelConfig config) => config.HeadDim * config.NumHeads != config.HiddenSize;

    /// <summary>
    /// Also refuses a mixture without a gated shared expert (shared_expert_intermediate_size 0), which llama.cpp's qwen2moe
    /// requires, and heads whose total size differs from the hidden size (its attention output is [hidden, hidden]).
    /// </summary>
    public override void CheckRepresentable(ModelConfig config, string directory)
    {
        base.CheckRepresentable(config, directory);
        string file = Path.Combine(directory, "config.json");
        if (config.Experts!.Shared is not { Gated: true })
            throw new InvalidFormatException(file, "shared_expert_intermediate_size",
                "describes no gated shared expert; llama.cpp's qwen2moe requires the shared expert and its gate in every layer, so a GGUF would not load");
        if (config.HeadDim * config.NumHeads != config.HiddenSize)
            throw new InvalidFormatException(file, "head_dim",
                $"is {config.HeadDim}: {config.NumHeads} heads of it are not hidden_size ({config.HiddenSize}); llama.cpp's qwen2moe takes the attention's width to be the hidden size, so a GGUF would not load");
    }

    /// <summary>Qwen2MoeModel's keys: the mixture's, then the shared expert's width.</summary>
    public override IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        foreach (var kv in base.Hyperparameters(config)) yield return kv;
        yield return (Key("expert_shared_feed_forward_length"), GgufValue.Of((uint)config.Experts!.Shared!.IntermediateSize));
    }

    static readonly (string Hf, string Gguf)[] SharedParts =
    [
        ("shared_expert.gate_proj", "ffn_gate_shexp"),
        ("shared_expert.up_proj", "ffn_up_shexp"),
        ("shared_expert.down_proj", "ffn_down_shexp"),
        ("shared_expert_gate", "ffn_gate_inp_shexp"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d+)\.mlp\.(shared_expert\.(?:gate|up|down)_proj|shared_expert_gate)\.weight$")]
    private static partial Regex HfShared();

    [GeneratedRegex(@"^blk\.(\d+)\.(ffn_(?:gate|up|down)_shexp|ffn_gate_inp_shexp)\.weight$")]
    private static partial Regex GgufShared();

    /// <summary>The shared expert as <c>ffn_{gate,up,down}_shexp</c> and its gate as <c>ffn_gate_inp_shexp</c>; the rest as the mixture's.</summary>
    public override string? TensorName(string hf) =>
        HfShared().Match(hf) is { Success: true } m
            ? $"blk.{m.Groups[1].Value}.{SharedParts.First(p => p.Hf == m.Groups[2].Value).Gguf}.weight"
            : base.TensorName(hf);

    /// <inheritdoc/>
    public override string? HfName(string gguf, ModelConfig config) =>
        GgufShared().Match(gguf) is { Success: true } m
            ? $"model.layers.{m.Groups[1].Value}.mlp.{SharedParts.First(p => p.Gguf == m.Groups[2].Value).Hf}.weight"
            : base.HfName(gguf, config);

    /// <summary>The mixture's config with its gated shared expert of <c>expert_shared_feed_forward_length</c>.</summary>
    public override ModelConfig ReadConfig(GgufFile file)
    {
        var c = base.ReadConfig(file);
        int width = Int(file, Key("expert_shared_feed_forward_length"));
        if (width < 1 || width > ModelDimensionLimits.MaxIntermediate)
            throw new InvalidFormatException(file.Path, Key("expert_shared_feed_forward_length"), $"is {width}; expected 1 to {ModelDimensionLimits.MaxIntermediate}");
        return c with { Experts = c.Experts! with { Shared = new SharedExpert { IntermediateSize = width } } };
    }

    /// <inheritdoc/>
    public override string KeyOf(string configField) =>
        configField == "shared_expert_intermediate_size" ? Key("expert_shared_feed_forward_length") : base.KeyOf(configField);
}
