using QuantTune.Models.Config;

namespace QuantTune.Peft.Ia3;

/// <summary>
/// IA³ (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than
/// In-Context Learning") as PEFT's <c>IA3Config</c>. The defaults are PEFT's for Llama:
/// rescale the keys, the values and the input of the MLP's down projection.
/// </summary>
public sealed record Ia3Config
{
    /// <summary>Module names (or path suffixes) of the linear layers to rescale.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["k_proj", "v_proj", "down_proj"];

    /// <summary>
    /// The targets that are feed-forward layers: their INPUT is rescaled (l ∈ R^in) rather than
    /// their output (l ∈ R^out). Must be a subset of <see cref="TargetModules"/>, as in PEFT.
    /// </summary>
    public IReadOnlyList<string> FeedforwardModules { get; init; } = ["down_proj"];

    /// <summary>
    /// The defaults for <paramref name="config"/>'s layout: PEFT's for Llama, for Mixtral's experts (k_proj, v_proj, w2) and for GPT-2 (c_attn, mlp.c_proj), and for
    /// Phi-3's fused layout (PEFT has no IA³ default for phi3) the fused qkv_proj, which holds the keys and values, and down_proj.
    /// </summary>
    public static Ia3Config DefaultFor(ModelConfig config)
    {
        // Experts whose down projection has the family's own name (Mixtral's w2; PEFT's mixtral default: k_proj, v_proj, w2).
        if (config.Experts?.ExpertNames.Down is string expertDown && expertDown != ModuleNames.Llama.Down)
            return new Ia3Config { TargetModules = ["k_proj", "v_proj", expertDown], FeedforwardModules = [expertDown] };
        if (config.Projections != ProjectionLayout.Fused) return new Ia3Config();
        var n = config.Names;
        string down = n.Down == n.Output ? n.DownProjection : n.Down; // GPT-2's c_proj names both, so mlp.c_proj
        return new Ia3Config { TargetModules = [n.Qkv, down], FeedforwardModules = [down] };
    }

    /// <summary>Recorded in adapter_config.json so a reader knows which base the adapter belongs to.</summary>
    public string? BaseModelNameOrPath { get; init; }
}
