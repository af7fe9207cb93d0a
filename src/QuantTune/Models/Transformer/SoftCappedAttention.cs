using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Attention with Gemma 2's logit soft-cap, which scaled_dot_product_attention cannot apply:
/// scores = q·kᵀ·scale, cap·tanh(scores/cap), the mask added, softmax in fp32 (cast back to the
/// query dtype), times v - transformers' eager_attention_forward with softcap.
/// </summary>
public static class SoftCappedAttention
{
    /// <param name="q">[B, H, T, D]</param>
    /// <param name="k">[B, H, S, D] (key/value heads already repeated)</param>
    /// <param name="mask">additive [T, S] mask, or null when every query sees every key</param>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, Tensor? mask, double scale, double cap)
    {
        using var scope = NewDisposeScope();
        var scores = q.matmul(k.transpose(-2, -1)).Times(scale);
        scores = scores.DividedBy(cap).tanh().Times(cap);
        if (mask is not null) scores = scores.Plus(mask);
        var probabilities = scores.softmax(-1, ScalarType.Float32).to_type(q.dtype);
        return probabilities.matmul(v).MoveToOuterDisposeScope();
    }
}
