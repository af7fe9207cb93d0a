using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Grouped-query self-attention: q/k/v projections (three, or Phi-3's one fused qkv_proj, GPT-2's c_attn), the family's q/k norms where it has
/// them (per head: Qwen3, Gemma 3; over the whole projection: OLMo 2), RoPE on queries and keys (not where positions are learned, GPT-2, nor in
/// SmolLM3's no-RoPE layers), the KV cache, key/value heads repeated to the
/// query heads, scaled_dot_product_attention (or <see cref="SoftCappedAttention"/> for Gemma 2, <see cref="SinkAttention"/> for gpt-oss's sinks),
/// the output times sigmoid of a gate that the query projection also yields (Qwen3.5),
/// output projection. The layer's window is its own (Gemma interleaves sliding and global
/// layers), and so are its head size and key/value heads (Gemma 4's global layers). Gemma 4 adds values RMS-normalised
/// without a weight (v_norm), full-attention layers whose values are their raw keys (attention_k_eq_v: no v_proj), and
/// layers with no keys and values of their own, which attend over an earlier layer's (<see cref="SharedKeyValues"/>;
/// no k_proj, v_proj, k_norm). The projections are plain modules so that quantized or adapted layers can take their place.
/// </summary>
public sealed class Attention : nn.Module
{
    /// <summary>The separate projections (<see cref="ProjectionLayout.Separate"/>); null in the fused layout.</summary>
    public nn.Module<Tensor, Tensor>? q_proj, k_proj, v_proj;
    /// <summary>Phi-3's one projection for queries, keys and values, rows in that order (<see cref="ProjectionLayout.Fused"/>); null otherwise.</summary>
    public nn.Module<Tensor, Tensor>? qkv_proj;
    public nn.Module<Tensor, Tensor> o_proj;
    /// <summary>gpt-oss's per-head sink logits [heads] (<see cref="SinkAttention"/>); null where the family has none.</summary>
    public TorchSharp.Modules.Parameter? sinks;
    /// <summary>RMSNorm of queries and keys before RoPE, per head (weight [head_dim]) or over the whole projection (OLMo 2: [heads·head_dim], [kv_heads·head_dim]); null where the family has none.</summary>
    public RmsNorm? q_norm, k_norm;
    readonly int _heads, _kvHeads, _headDim;
    readonly int? _kvSource;
    readonly bool _keysAsValues, _valueNorm, _sharesOwn;
    readonly double _eps;
    readonly int? _window;
    readonly double _scale;
    readonly double? _softcap;
    readonly bool _rotary;
    readonly bool _outputGate;
    readonly bool _wholeQkNorm;

    /// <param name="layer">the layer's index in <paramref name="c"/> (its window)</param>
    public Attention(ModelConfig c, int layer, ScalarType dtype, Device device) : base(nameof(Attention))
    {
        _heads = c.NumHeads;
        _kvHeads = c.KvHeadsOf(layer);
        _headDim = c.HeadDimOf(layer);
        _kvSource = c.KvSourceOf(layer);
        _keysAsValues = c.KeysAsValues(layer);
        _valueNorm = c.ValueNorm;
        _eps = c.RmsNormEps;
        _sharesOwn = Enumerable.Range(0, c.NumLayers).Any(l => c.KvSourceOf(l) == layer);
        _window = c.WindowOf(layer);
        _scale = c.AttentionScale;
        _softcap = c.AttentionSoftcap;
        _rotary = c.UsesRope(layer);
        _wholeQkNorm = c.QkNormOver == QkNormScope.Projection;
        _outputGate = c.AttentionOutputGate;
        if (c.Projections == ProjectionLayout.Fused)
            qkv_proj = new Linear(c.HiddenSize, (c.NumHeads + 2 * c.NumKvHeads) * c.HeadDim, c.QkvBias, dtype, device);
        else
        {
            q_proj = new Linear(c.HiddenSize, c.NumHeads * _headDim * (_outputGate ? 2 : 1), c.QkvBias, dtype, device);
            if (_kvSource is null) k_proj = new Linear(c.HiddenSize, _kvHeads * _headDim, c.QkvBias, dtype, device);
            if (_kvSource is null && !_keysAsValues) v_proj = new Linear(c.HiddenSize, _kvHeads * _headDim, c.QkvBias, dtype, device);
        }
        o_proj = new Linear(c.NumHeads * _headDim, c.HiddenSize, c.OutputBias, dtype, device);
        if (c.AttentionSinks) sinks = new TorchSharp.Modules.Parameter(empty([c.NumHeads], dtype, device));
        if (c.QkNorm)
        {
            var (qWidth, kWidth) = _wholeQkNorm ? c.QkNormWidths : (_headDim, _headDim);
            q_norm = new RmsNorm(qWidth, c.RmsNormEps, dtype, device, c.Norm);
            if (_kvSource is null) k_norm = new RmsNorm(kWidth, c.RmsNormEps, dtype, device, c.Norm);
        }
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(qkv_proj), c.Names.Qkv), (nameof(o_proj), c.Names.Output));
    }

    /// <param name="x">[B, T, hidden]</param>
    /// <param name="cos">[T, headDim] for this step's positions</param>
    /// <param name="past">positions already in the cache before this forward pass</param>
    /// <param name="cache">keys and values of earlier positions, or null</param>
    /// <param name="shared">the keys and values this forward pass's earlier layers share (Gemma 4's KV sharing); null where none do</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, int layerIndex, long past, KvCache? cache, SharedKeyValues? shared = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var (q, k, v) = Project(x);
        Tensor? gate = null;
        if (_outputGate)
        {
            // Qwen3.5: each head's query rows are followed by as many gate rows
            var both = q.view(b, t, _heads, 2 * _headDim);
            gate = both.narrow(-1, _headDim, _headDim).reshape(b, t, _heads * _headDim);
            q = both.narrow(-1, 0, _headDim);
        }
        if (_wholeQkNorm)
        {
            // OLMo 2: q_norm(q_proj(x)) and k_norm(k_proj(x)) over all heads at once, then the split into heads
            q = q_norm!.forward(q);
            k = k_norm!.forward(k!);
        }
        q = q.reshape(b, t, _heads, _headDim);
        if (!_wholeQkNorm && q_norm is not null) q = q_norm.forward(q);
        q = q.transpose(1, 2);
        if (_rotary) q = RotaryEmbedding.Apply(q, cos, sin);
        if (_kvSource is int source)
        {
            // Gemma 4: every position's keys and values of the layer shared from, after its cache (the cache holds none for this layer)
            if (shared is null) throw new InvalidOperationException($"layer {layerIndex} attends over layer {source}'s keys and values, which this forward pass did not share");
            (k, v) = shared.Of(source);
            cache?.Skip(layerIndex, t);
        }
        else
        {
            k = k!.reshape(b, t, _kvHeads, _headDim);
            v = v!.view(b, t, _kvHeads, _headDim);
            if (!_wholeQkNorm && k_norm is not null) k = k_norm.forward(k);
            if (_valueNorm) v = RmsNorm.Unscaled(v, _eps);
            k = k.transpose(1, 2);
            v = v.transpose(1, 2);
            if (_rotary) k = RotaryEmbedding.Apply(k, cos, sin);
            if (cache is not null) (k, v) = cache.Append(layerIndex, k, v);
            if (_sharesOwn) shared?.Keep(layerIndex, k, v);
        }
        // scaled_dot_product_attention scales by head_dim^-1/2; a family's own scale goes onto the queries.
        double queryFactor = _scale * Math.Sqrt(_headDim);
        bool explicitScores = _softcap is not null || sinks is not null;
        if (!explicitScores && Math.Abs(queryFactor - 1.0) > 1e-12) q = q.Times(queryFactor);
        if (!explicitScores && t == 1 && AttentionMask.SeesEveryKey(past, _window))
            return o_proj.forward(Gated(DecodeStep(q, k, v, b), gate)).MoveToOuterDisposeScope();
        if (_kvHeads != _heads)
        {
            k = k.repeat_interleave(_heads / _kvHeads, 1);
            v = v.repeat_interleave(_heads / _kvHeads, 1);
        }
        Tensor attended;
        if (_softcap is double cap)
            attended = SoftCappedAttention.Apply(q, k, v, t == 1 && AttentionMask.SeesEveryKey(past, _window) ? null : AttentionMask.Causal(past, t, _window, q.dtype, q.device), _scale, cap);
        else if (sinks is not null)
            attended = SinkAttention.Apply(q, k, v, t == 1 && AttentionMask.SeesEveryKey(past, _window) ? null : AttentionMask.Causal(past, t, _window, q.dtype, q.device), _scale, sinks);
        else if (AttentionMask.IsPlainCausal(past, t, _window))
            attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
        else
            attended = nn.functional.scaled_dot_product_attention(q, k, v, AttentionMask.Causal(past, t, _window, q.dtype, q.device));
        var merged = attended.transpose(1, 2).reshape(b, t, _heads * _headDim);
        return o_proj.forward(Gated(merged, gate)).MoveToOuterDisposeScope();
    }

    /// <summary>The attention's output [B, T, heads·D] times sigmoid(gate) where the queries carry a gate (Qwen3.5), else unchanged.</summary>
    static Tensor Gated(Tensor attended, Tensor? gate) => gate is null ? attended : attended * gate.sigmoid();

    /// <summary>Queries, keys and values [B, T, heads·D]: three projections, or the fused one split as Phi3Attention splits it.
    /// Gemma 4: none for a layer that shares an earlier layer's; its raw keys as values where it has no v_proj (attention_k_eq_v).</summary>
    (Tensor Q, Tensor? K, Tensor? V) Project(Tensor x)
    {
        if (qkv_proj is null && _kvSource is not null) return (q_proj!.forward(x), null, null);
        if (qkv_proj is null)
        {
            var keys = k_proj!.forward(x);
            return (q_proj!.forward(x), keys, v_proj is null ? keys : v_proj.forward(x));
        }
        var qkv = qkv_proj.forward(x);
        long qd = _heads * _headDim, kvd = _kvHeads * _headDim;
        return (qkv.narrow(-1, 0, qd), qkv.narrow(-1, qd, kvd), qkv.narrow(-1, qd + kvd, kvd));
    }

    /// <summary>
    /// One query position that sees every key (a decode step): no mask to build, and the
    /// key/value heads are not repeated. The query heads that share a key/value head become that
    /// head's rows of queries, [B, kvHeads, heads/kvHeads, D], so that each row meets the same keys
    /// and values as after repeat_interleave. Up to <see cref="SingleThreadedAttentionWork"/>
    /// the attention runs on the calling thread (<see cref="IntraOpThreads"/>). Returns [B, 1, heads·D].
    /// </summary>
    Tensor DecodeStep(Tensor q, Tensor k, Tensor v, long b)
    {
        var grouped = q.reshape(b, _kvHeads, _heads / _kvHeads, _headDim);
        var attended = b * _heads * k.shape[2] * _headDim <= SingleThreadedAttentionWork
            ? IntraOpThreads.OnCallingThread(q.device, () => nn.functional.scaled_dot_product_attention(grouped, k, v))
            : nn.functional.scaled_dot_product_attention(grouped, k, v);
        return attended.reshape(b, 1, _heads * _headDim);
    }

    /// <summary>Multiply-adds (batch × heads × keys × head size) up to which a decode step's attention stays on one thread: about half a millisecond of one core.</summary>
    public const long SingleThreadedAttentionWork = 1L << 21;
}
