using QuantTune.Models;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>Which BitNet layer <see cref="BitNetConverter"/> puts in.</summary>
public enum BitNetKind
{
    /// <summary>1-bit weights, <see cref="BitLinear"/>.</summary>
    BitNet,
    /// <summary>Ternary weights, <see cref="BitLinear158"/>.</summary>
    BitNet158,
}

/// <summary>
/// Turns a model into its BitNet form for training: every linear layer but lm_head (kept in full
/// precision, as in the papers, whose output layer is not quantized) becomes a BitNet layer
/// sharing the original parameters.
/// </summary>
public static class BitNetConverter
{
    public static readonly string[] DefaultSkip = ["lm_head"];

    /// <summary>Replaces the layers in place; returns the paths replaced.</summary>
    public static IReadOnlyList<string> Convert(nn.Module model, BitNetKind kind, IReadOnlyCollection<string>? skip = null)
    {
        skip ??= DefaultSkip;
        return ModuleSurgery.ReplaceLinears(model, (path, linear) =>
            skip.Contains(path) ? null
            : kind == BitNetKind.BitNet158 ? new BitLinear158(linear)
            : new BitLinear(linear));
    }
}
