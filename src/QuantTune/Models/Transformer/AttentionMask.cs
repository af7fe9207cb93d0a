using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Additive attention masks for the cases scaled_dot_product_attention's is_causal flag does
/// not cover: queries that follow cached positions, and sliding-window attention.
/// </summary>
public static class AttentionMask
{
    /// <summary>
    /// [T, past+T] with 0 where query i (absolute position past+i) may see key j and -inf elsewhere:
    /// j ≤ past+i, and j > past+i−window when a window is set.
    /// </summary>
    public static Tensor Causal(long past, long length, int? window, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var q = PinnedScalarMath.Arange(past, past + length, ScalarType.Int64, device).unsqueeze(1);
        var k = PinnedScalarMath.Arange(0, past + length, ScalarType.Int64, device).unsqueeze(0);
        var blocked = k > q;
        if (window is int w) blocked = blocked.logical_or(k <= q.Minus(w));
        return zeros([length, past + length], dtype, device).MaskedFill(blocked, double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>Whether one query at absolute position <paramref name="past"/> sees every key, 0..past (no window, or one that reaches back to 0).</summary>
    public static bool SeesEveryKey(long past, int? window) => window is null || past < window;

    /// <summary>Whether plain is_causal attention is exact for this step.</summary>
    public static bool IsPlainCausal(long past, long length, int? window) =>
        past == 0 && (window is null || length <= window);
}
