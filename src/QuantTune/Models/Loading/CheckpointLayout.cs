using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// How a family's checkpoint stores what the module tree holds: GPT-2 keeps its projections as
/// Conv1D, weight [in, out], the transpose of the Linear each becomes here; and GPT-2 checkpoints
/// saved from GPT2Model (openai-community/gpt2 itself) name their tensors without the
/// <c>transformer.</c> prefix.
/// </summary>
public static class CheckpointLayout
{
    /// <summary>Whether parameter <paramref name="name"/> is stored transposed (a Conv1D weight: c_attn, attn.c_proj, c_fc, mlp.c_proj).</summary>
    public static bool IsTransposed(ModelConfig c, string name)
    {
        if (!c.Conv1DWeights || !name.EndsWith(".weight", StringComparison.Ordinal)) return false;
        var n = c.Names;
        return new[] { $".{n.Attention}.{n.Qkv}.weight", $".{n.Attention}.{n.Output}.weight", $".{n.Mlp}.{n.Up}.weight", $".{n.Mlp}.{n.Down}.weight" }
            .Any(s => name.EndsWith(s, StringComparison.Ordinal));
    }

    /// <summary>A parameter's tensor as the checkpoint stores it (a view; transposed and made contiguous for a Conv1D weight).</summary>
    public static Tensor ToCheckpoint(ModelConfig c, string name, Tensor value) =>
        IsTransposed(c, name) ? value.t().contiguous() : value;

    /// <summary>The checkpoint's key for parameter <paramref name="name"/>: the name itself; under the checkpoint's own stack (<see cref="ModelConfig.CheckpointStack"/>: model.language_model.layers.0… for model.layers.0…); without the stack's prefix where the checkpoint has only that; or a router transformers 5 moved under <c>mlp</c> (<see cref="FusedExperts.RouterKey"/>).</summary>
    public static string KeyOf(ModelConfig c, SafetensorsCheckpoint checkpoint, string name)
    {
        if (FusedExperts.RouterKey(c, checkpoint, name) is string router) return router;
        string prefix = c.Names.Stack + ".";
        if (c.CheckpointStack is string stack && name.StartsWith(prefix, StringComparison.Ordinal))
            return $"{stack}.{name[prefix.Length..]}";
        if (checkpoint.Contains(name) || !c.Conv1DWeights) return name;
        return name.StartsWith(prefix, StringComparison.Ordinal) && checkpoint.Contains(name[prefix.Length..]) ? name[prefix.Length..] : name;
    }

    /// <summary>The shape the checkpoint stores parameter <paramref name="name"/> of shape <paramref name="shape"/> in.</summary>
    public static long[] StoredShape(ModelConfig c, string name, long[] shape) =>
        IsTransposed(c, name) ? [shape[1], shape[0]] : shape;
}
