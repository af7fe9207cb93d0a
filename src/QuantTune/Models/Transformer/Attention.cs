using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Grouped-query self-attention: q/k/v projections, RoPE on queries and keys, the KV cache,
/// key/value heads repeated to the query heads, scaled_dot_product_attention, output projection.
/// The projections are plain modules so that quantized or adapted layers can take their place.
/// </summary>
public sealed class Attention : nn.Module
{
    public nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;
    readonly int _heads, _kvHeads, _headDim;
    readonly int? _window;

    public Attention(ModelConfig c, ScalarType dtype, Device device) : base(nameof(Attention))
    {
        _heads = c.NumHeads;
        _kvHeads = c.NumKvHeads;
        _headDim = c.HeadDim;
        _window = c.SlidingWindow;
        q_proj = new Linear(c.HiddenSize, c.NumHeads * c.HeadDim, c.QkvBias, dtype, device);
        k_proj = new Linear(c.HiddenSize, c.NumKvHeads * c.HeadDim, c.QkvBias, dtype, device);
        v_proj = new Linear(c.HiddenSize, c.NumKvHeads * c.HeadDim, c.QkvBias, dtype, device);
        o_proj = new Linear(c.NumHeads * c.HeadDim, c.HiddenSize, c.OutputBias, dtype, device);
        RegisterComponents();
    }

    /// <param name="x">[B, T, hidden]</param>
    /// <param name="cos">[T, headDim] for this step's positions</param>
    /// <param name="past">positions already in the cache before this forward pass</param>
    /// <param name="cache">keys and values of earlier positions, or null</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, int layerIndex, long past, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (cache is not null) (k, v) = cache.Append(layerIndex, k, v);
        if (_kvHeads != _heads)
        {
            k = k.repeat_interleave(_heads / _kvHeads, 1);
            v = v.repeat_interleave(_heads / _kvHeads, 1);
        }
        Tensor attended;
        if (AttentionMask.IsPlainCausal(past, t, _window))
            attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        else
            attended = nn.functional.scaled_dot_product_attention(q, k, v, AttentionMask.Causal(past, t, _window, q.dtype, q.device));
        var merged = attended.transpose(1, 2).reshape(b, t, _heads * _headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
