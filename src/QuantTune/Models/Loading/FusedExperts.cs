using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;

namespace QuantTune.Models.Loading;

/// <summary>
/// transformers 5's fused layout of a mixture of experts' weights (Qwen3MoeExperts, MixtralExperts):
/// each sparse layer stores <c>experts.gate_up_proj</c> [experts, 2 × width, hidden], expert e's gate
/// projection in rows [0, width) and its up projection in rows [width, 2 × width) (forward:
/// linear(x, gate_up_proj[e]).chunk(2): the gate first), and <c>experts.down_proj</c> [experts,
/// hidden, width]. Where the checkpoint holds these instead of <c>experts.N.{gate,up,down}_proj</c>,
/// each expert's weight is read straight from its rows of the fused tensor. transformers 5 names every such
/// block <c>mlp</c>: its conversion of Mixtral's checkpoints (conversion_mapping.py) moves
/// <c>block_sparse_moe.experts.N.{w1,w3}</c> to <c>mlp.experts.gate_up_proj</c>, <c>w2</c> to
/// <c>mlp.experts.down_proj</c> and the router <c>block_sparse_moe.gate</c> to <c>mlp.gate</c>, so a block of
/// another name is looked for under <c>mlp</c> as well (<see cref="RouterKey"/> for the router).
/// </summary>
public static class FusedExperts
{
    /// <summary>Where a per-expert weight lies in a fused tensor: its key, and the first element of its rows in storage order.</summary>
    public sealed record Slice(string Key, long FirstElement);

    /// <summary>
    /// The fused slice holding checkpoint key <paramref name="key"/> (an expert's gate, up or down
    /// weight under the family's <see cref="MixtureOfExperts.ExpertNames"/>), or null where the key is
    /// no expert weight or the checkpoint has no fused tensor for it. A fused tensor of another shape
    /// than the config describes is an error naming the file and the key.
    /// </summary>
    public static Slice? Of(ModelConfig c, SafetensorsCheckpoint checkpoint, string key)
    {
        // gpt-oss's experts.gate_up_proj has the same name but its own layout (InterleavedExperts)
        if (c.Experts is not { StoredInterleaved: false } moe || !key.EndsWith(".weight", StringComparison.Ordinal)) return null;
        var parts = key[..^".weight".Length].Split('.');
        if (parts.Length < 3 || parts[^3] != "experts" || !int.TryParse(parts[^2], out int expert)) return null;
        string block = FusedBlock(c, checkpoint, string.Join('.', parts[..^2]));
        string projection = parts[^1];
        var n = moe.ExpertNames;
        long h = c.HiddenSize, width = moe.ExpertIntermediateSize, experts = moe.NumExperts;
        (string Fused, long[] Shape, long First)? where =
            projection == n.Gate ? ($"{block}.gate_up_proj", [experts, 2 * width, h], expert * 2 * width * h) :
            projection == n.Up ? ($"{block}.gate_up_proj", [experts, 2 * width, h], (expert * 2 * width + width) * h) :
            projection == n.Down ? ($"{block}.down_proj", [experts, h, width], expert * h * width) : null;
        if (where is not { } w || !checkpoint.Contains(w.Fused)) return null;
        var shape = checkpoint.Info(w.Fused).Shape;
        if (!shape.SequenceEqual(w.Shape))
            throw new InvalidFormatException(checkpoint.PathOf(w.Fused), w.Fused,
                $"has shape [{string.Join(", ", shape)}]; the fused experts of the model built from config.json are [{string.Join(", ", w.Shape)}] ([num_experts, {(w.Fused.EndsWith("down_proj") ? "hidden_size, moe_intermediate_size" : "2 × moe_intermediate_size, hidden_size")}])");
        return new Slice(w.Fused, w.First);
    }

    /// <summary>transformers 5's name of the sparse block's module path: the family's own (<c>….block_sparse_moe.experts</c>) where the checkpoint has fused tensors there, else under <c>mlp</c>.</summary>
    static string FusedBlock(ModelConfig c, SafetensorsCheckpoint checkpoint, string experts)
    {
        string own = $".{c.Names.Mlp}.experts", fused = ".mlp.experts";
        if (own == fused || !experts.EndsWith(own, StringComparison.Ordinal) || checkpoint.Contains(experts + ".down_proj")) return experts;
        return experts[..^own.Length] + fused;
    }

    /// <summary>
    /// The checkpoint key of a router <paramref name="name"/> (<c>….block_sparse_moe.gate.weight</c>) that a transformers 5
    /// checkpoint holds under <c>mlp</c> (<c>….mlp.gate.weight</c>), or null where it is no such router or the checkpoint
    /// has it under its own name.
    /// </summary>
    public static string? RouterKey(ModelConfig c, SafetensorsCheckpoint checkpoint, string name)
    {
        if (c.Experts is null || c.Names.Mlp == "mlp" || checkpoint.Contains(name)) return null;
        string own = $".{c.Names.Mlp}.gate.weight";
        if (!name.EndsWith(own, StringComparison.Ordinal)) return null;
        string key = name[..^own.Length] + ".mlp.gate.weight";
        return checkpoint.Contains(key) ? key : null;
    }
}
