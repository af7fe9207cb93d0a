namespace QuantTune.Peft.Bottleneck;

/// <summary>Where bottleneck adapters sit in each decoder layer.</summary>
[Flags]
public enum BottleneckPlacement
{
    /// <summary>After the attention block: on the output of <c>self_attn.o_proj</c>.</summary>
    Attention = 1,
    /// <summary>After the feed-forward block: on the output of <c>mlp.down_proj</c>.</summary>
    Mlp = 2,
    /// <summary>Both, as Houlsby et al. place them.</summary>
    Both = Attention | Mlp,
}

/// <summary>
/// Bottleneck adapters (Houlsby et al. 2019, "Parameter-Efficient Transfer Learning for NLP"):
/// h + up(GeLU(down(h))) on a sub-block's output h, with down: hidden → b and up: b → hidden.
/// PEFT has no such tuner; the folder format is ours (peft_type "BOTTLENECK").
/// </summary>
public sealed record BottleneckConfig
{
    /// <summary>The bottleneck width b.</summary>
    public int BottleneckSize { get; init; } = 64;

    public BottleneckPlacement Placement { get; init; } = BottleneckPlacement.Both;

    public string? BaseModelNameOrPath { get; init; }

    /// <summary>The placement as written in adapter_config.json: "attention", "mlp" or "both".</summary>
    public static string PlacementName(BottleneckPlacement placement) => placement switch
    {
        BottleneckPlacement.Attention => "attention",
        BottleneckPlacement.Mlp => "mlp",
        BottleneckPlacement.Both => "both",
        _ => throw new ArgumentOutOfRangeException(nameof(placement), placement, "attention, mlp or both"),
    };

    public static BottleneckPlacement? ParsePlacement(string? name) => name switch
    {
        "attention" => BottleneckPlacement.Attention,
        "mlp" => BottleneckPlacement.Mlp,
        "both" => BottleneckPlacement.Both,
        _ => null,
    };
}
