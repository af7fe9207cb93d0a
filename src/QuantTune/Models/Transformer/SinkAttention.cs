using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Attention with gpt-oss's sinks, which scaled_dot_product_attention cannot apply: each head's learned logit
/// (<c>self_attn.sinks</c>) joins every query row's scores as one more column, the softmax runs over the row with it
/// (in fp32, cast back to the query dtype), and the sink's column is dropped before the values are weighted, so a
/// row's weights sum to less than one - transformers' eager_attention_forward of modeling_gpt_oss.py.
/// </summary>
public static class SinkAttention
{
    /// <param name="q">[B, H, T, D]</param>
    /// <param name="k">[B, H, S, D] (key/value heads already repeated)</param>
    /// <param name="mask">additive [T, S] mask, or null when every query sees every key</param>
    /// <param name="sinks">[H], one logit per query head</param>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, Tensor? mask, double scale, Tensor sinks)
    {
        using var scope = NewDisposeScope();
        var scores = q.matmul(k.transpose(-2, -1)).Times(scale);
        if (mask is not null) scores = scores.Plus(mask);
        var sink = sinks.to_type(scores.dtype).reshape(1, -1, 1, 1).expand(scores.shape[0], -1, scores.shape[2], 1);
        var probabilities = cat([scores, sink], -1).softmax(-1, ScalarType.Float32).to_type(q.dtype);
        return probabilities.narrow(-1, 0, scores.shape[^1]).matmul(v).MoveToOuterDisposeScope();
    }
}
