"""An independent NumPy forward of Qwen3.5's text model (model_type "qwen3_5_text", Qwen3_5ForCausalLM), ported
function by function from transformers' src/transformers/models/qwen3_5/modeling_qwen3_5.py:
Qwen3_5RMSNorm (x_hat * (1 + weight)), Qwen3_5RMSNormGated (weight * x_hat * silu(gate)), Qwen3_5TextRotaryEmbedding
(compute_default_rope_parameters over the partial rotary dim; the multimodal RoPE sections collapse to plain RoPE for
text, whose position ids are the same on every axis), apply_rotary_pos_emb (rotation of the first rotary dims only),
Qwen3_5Attention (q_proj split per head into query and output gate, q_norm / k_norm, GQA through repeat_kv,
eager_attention_forward, output * sigmoid(gate)), Qwen3_5GatedDeltaNet (in_proj_qkv / in_proj_z / in_proj_b /
in_proj_a, causal_conv1d_fn with silu, l2norm, beta and g, grouped value heads, torch_recurrent_gated_delta_rule and
torch_chunk_gated_delta_rule, the gated norm, out_proj), Qwen3_5MLP, Qwen3_5DecoderLayer and Qwen3_5TextModel.

It shares no code with QuantTune (nor with numpy_forward.py); it computes in float64 on one sequence at a time
(batch 1, no padding, no cache). Options of Qwen35 switch single quirks off, for the fixture's quirk logits.
Used by make_fixtures.py."""
import numpy as np


class Qwen35:
    """The config.json of a Qwen3_5TextConfig read as Qwen3_5TextConfig.__post_init__ does, plus switches that remove
    one quirk each (all off: the model as transformers runs it)."""

    def __init__(self, config, output_gate=True, norm_one_plus=True, conv1d=True, qk_l2norm=True,
                 head_grouping="repeat_interleave", partial_rotary_factor=None):
        c = config
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv = c["num_key_value_heads"]
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        self.tied = c.get("tie_word_embeddings", False)
        interval = c.get("full_attention_interval", 4)
        self.layer_types = c.get("layer_types") or [
            "linear_attention" if (i + 1) % interval else "full_attention" for i in range(self.layers)]
        rope = c["rope_parameters"]
        self.rope_theta = rope["rope_theta"]
        factor = rope.get("partial_rotary_factor", 0.25) if partial_rotary_factor is None else partial_rotary_factor
        self.rotary_dim = int(self.head_dim * factor)
        # Qwen3_5GatedDeltaNet
        self.num_k_heads = c["linear_num_key_heads"]
        self.num_v_heads = c["linear_num_value_heads"]
        self.head_k_dim = c["linear_key_head_dim"]
        self.head_v_dim = c["linear_value_head_dim"]
        self.key_dim = self.num_k_heads * self.head_k_dim
        self.value_dim = self.num_v_heads * self.head_v_dim
        self.conv_kernel = c["linear_conv_kernel_dim"]
        # quirk switches
        self.output_gate = output_gate
        self.norm_one_plus = norm_one_plus
        self.conv1d = conv1d
        self.qk_l2norm = qk_l2norm
        self.head_grouping = head_grouping


def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    # F.softplus with beta 1, threshold 20: x itself above the threshold
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def rms_norm(x, weight, eps, one_plus=True):
    """Qwen3_5RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + weight); one_plus False gives Llama's weight * x_hat."""
    h = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return h * ((1.0 + weight) if one_plus else weight)


def rms_norm_gated(x, gate, weight, eps):
    """Qwen3_5RMSNormGated: weight * (x * rsqrt(mean(x^2) + eps)) * silu(gate), the weight itself (no 1 +)."""
    h = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return weight * h * silu(gate)


def l2norm(x, eps=1e-6):
    """l2norm: x * rsqrt(sum(x^2) + eps) over the last axis."""
    return x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True) + eps)


def rotary_cos_sin(m, t):
    """Qwen3_5TextRotaryEmbedding for text positions 0..t-1: compute_default_rope_parameters gives
    inv_freq = 1 / theta^(arange(0, dim, 2) / dim) with dim = int(head_dim * partial_rotary_factor). For text the
    position ids of the three mrope axes (temporal, height, width) are equal, so recomposition_frequencies, which takes
    each frequency from one of the axes (mrope_section), returns the same freqs: plain RoPE, cat((freqs, freqs))."""
    inv_freq = 1.0 / (m.rope_theta ** (np.arange(0, m.rotary_dim, 2, dtype=np.float64) / m.rotary_dim))
    freqs = np.arange(t, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb), np.sin(emb)


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def apply_rotary_pos_emb(x, cos, sin):
    """apply_rotary_pos_emb for one of q, k [heads, T, head_dim]: the first cos.shape[-1] dims rotate, the rest pass."""
    r = cos.shape[-1]
    rot, rest = x[..., :r], x[..., r:]
    return np.concatenate([rot * cos + rotate_half(rot) * sin, rest], axis=-1)


def causal_softmax_attention(q, k, v, scaling):
    """eager_attention_forward with the causal mask (create_causal_mask) and repeat_kv: q [H, T, D], k/v [KV, T, D]."""
    rep = q.shape[0] // k.shape[0]
    k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)  # repeat_kv: head h reads kv head h // rep
    t = q.shape[1]
    scores = q @ k.transpose(0, 2, 1) * scaling
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    return probs @ v  # [H, T, D]


def full_attention(m, w, p, x):
    """Qwen3_5Attention: q_proj(x).view(T, heads, 2 * head_dim).chunk(2) gives the query (first head_dim of each head)
    and the output gate (second head_dim); q_norm / k_norm (Qwen3_5RMSNorm over head_dim); partial RoPE; attention
    scaled by head_dim^-0.5; output * sigmoid(gate); o_proj."""
    t, d = x.shape[0], m.head_dim
    qg = (x @ w[p + "q_proj.weight"].T).reshape(t, m.heads, 2 * d)
    q, gate = qg[..., :d], qg[..., d:].reshape(t, m.heads * d)
    k = (x @ w[p + "k_proj.weight"].T).reshape(t, m.kv, d)
    v = (x @ w[p + "v_proj.weight"].T).reshape(t, m.kv, d)
    q = rms_norm(q, w[p + "q_norm.weight"], m.eps, m.norm_one_plus).transpose(1, 0, 2)
    k = rms_norm(k, w[p + "k_norm.weight"], m.eps, m.norm_one_plus).transpose(1, 0, 2)
    v = v.transpose(1, 0, 2)
    cos, sin = rotary_cos_sin(m, t)
    q, k = apply_rotary_pos_emb(q, cos, sin), apply_rotary_pos_emb(k, cos, sin)
    out = causal_softmax_attention(q, k, v, d ** -0.5).transpose(1, 0, 2).reshape(t, m.heads * d)
    if m.output_gate:
        out = out * sigmoid(gate)
    return out @ w[p + "o_proj.weight"].T


def causal_conv1d(x, weight):
    """causal_conv1d_fn without bias and before its activation: depthwise F.conv1d with padding K - 1, the first T
    outputs kept. x [T, channels], weight [channels, 1, K]: out[t, c] = sum_j weight[c, 0, j] * x[t - (K - 1) + j, c]."""
    t, kernel = x.shape[0], weight.shape[-1]
    padded = np.concatenate([np.zeros((kernel - 1, x.shape[1])), x], axis=0)
    return sum(weight[None, :, 0, j] * padded[j:j + t] for j in range(kernel))


def recurrent_gated_delta_rule(q, k, v, g, beta):
    """torch_recurrent_gated_delta_rule after the l2norm and the query scaling (done by the caller), with no initial
    state: q, k [T, H, dk], v [T, H, dv], g, beta [T, H] (the same head count: grouping is done by the caller).
    Per token: S = S * exp(g_t); delta = (v_t - k_t S) * beta_t; S = S + k_t^T delta; out_t = q_t S."""
    t, h, dk = k.shape
    state = np.zeros((h, dk, v.shape[-1]))
    out = np.zeros_like(v)
    for i in range(t):
        state = state * np.exp(g[i])[:, None, None]
        kv_mem = np.einsum("hk,hkv->hv", k[i], state)
        delta = (v[i] - kv_mem) * beta[i][:, None]
        state = state + k[i][:, :, None] * delta[:, None, :]
        out[i] = np.einsum("hk,hkv->hv", q[i], state)
    return out, state


def solve_unit_lower(a, b):
    """torch.linalg.solve_triangular(a, b, upper=False, unitriangular=True): forward substitution on the strictly lower
    triangle of a [..., C, C] (its diagonal read as ones), for b [..., C, n]."""
    x = np.zeros_like(b)
    for i in range(a.shape[-1]):
        x[..., i, :] = b[..., i, :] - np.einsum("...j,...jn->...n", a[..., i, :i], x[..., :i, :])
    return x


def chunk_gated_delta_rule(q, k, v, g, beta, chunk_size=64):
    """torch_chunk_gated_delta_rule after the l2norm and the query scaling, no initial state; same arguments and
    result as recurrent_gated_delta_rule. The sequence is padded with zeros to a multiple of chunk_size; within a
    chunk the delta-rule updates are solved at once (the UT transform, solve_triangular), across chunks the state is
    carried over as in the transformers loop."""
    t = q.shape[0]
    # [H, T, ...] as transformers' transpose(1, 2)
    q, k, v = (a.transpose(1, 0, 2) for a in (q, k, v))
    beta, decay = beta.T, g.T
    pad = (chunk_size - t % chunk_size) % chunk_size
    q, k, v = (np.pad(a, ((0, 0), (0, pad), (0, 0))) for a in (q, k, v))
    beta, decay = (np.pad(a, ((0, 0), (0, pad))) for a in (beta, decay))
    h, total = q.shape[0], t + pad
    n = total // chunk_size
    v_beta, k_beta = v * beta[..., None], k * beta[..., None]
    q, k, k_beta, v_beta = (a.reshape(h, n, chunk_size, a.shape[-1]) for a in (q, k, k_beta, v_beta))
    decay = decay.reshape(h, n, chunk_size)
    upper = np.triu(np.ones((chunk_size, chunk_size), dtype=bool), 1)
    cum = np.cumsum(decay, axis=-1)
    pairwise = np.exp(np.where(upper, -np.inf, cum[..., :, None] - cum[..., None, :]))
    ut_system = (k_beta @ k.swapaxes(-1, -2)) * pairwise
    intra = (q @ k.swapaxes(-1, -2)) * pairwise
    decayed_k_beta = k_beta * np.exp(cum)[..., None]
    new_values = solve_unit_lower(ut_system, v_beta)
    k_cumdecay = solve_unit_lower(ut_system, decayed_k_beta)
    state = np.zeros((h, k.shape[-1], v.shape[-1]))
    out = np.zeros_like(new_values)
    q = q * np.exp(cum)[..., None]
    k = k * np.exp(cum[..., -1:] - cum)[..., None]
    chunk_decay = np.exp(cum[..., -1])[..., None, None]
    for i in range(n):
        v_new = new_values[:, i] - k_cumdecay[:, i] @ state
        out[:, i] = q[:, i] @ state + intra[:, i] @ v_new
        state = state * chunk_decay[:, i] + k[:, i].swapaxes(-1, -2) @ v_new
    out = out.reshape(h, total, -1)[:, :t]
    return out.transpose(1, 0, 2), state


def group_heads(m, x):
    """The grouped value heads of torch_*_gated_delta_rule: query / key heads [T, num_k_heads, dk] repeat_interleave'd
    to num_v_heads, so that value head j reads key head j // (num_v_heads / num_k_heads); "tile" is the wrong order
    (value head j reads key head j % num_k_heads), for the quirk logits."""
    rep = m.num_v_heads // m.num_k_heads
    return np.repeat(x, rep, axis=1) if m.head_grouping == "repeat_interleave" else np.tile(x, (1, rep, 1))


def gated_delta_net(m, w, p, x, rule, trace=None):
    """Qwen3_5GatedDeltaNet.forward without cache: in_proj_qkv → causal conv1d → silu → split into q, k, v;
    z = in_proj_z; beta = sigmoid(in_proj_b); g = -exp(A_log) * softplus(in_proj_a + dt_bias); the delta rule
    (use_qk_l2norm_in_kernel: l2norm of q and k, then q * dk^-0.5); Qwen3_5RMSNormGated per value head with z;
    out_proj. rule is recurrent_gated_delta_rule or chunk_gated_delta_rule; the core output is appended to trace."""
    t = x.shape[0]
    mixed = x @ w[p + "in_proj_qkv.weight"].T
    if m.conv1d:
        mixed = causal_conv1d(mixed, w[p + "conv1d.weight"])
    mixed = silu(mixed)
    q = mixed[:, :m.key_dim].reshape(t, m.num_k_heads, m.head_k_dim)
    k = mixed[:, m.key_dim:2 * m.key_dim].reshape(t, m.num_k_heads, m.head_k_dim)
    v = mixed[:, 2 * m.key_dim:].reshape(t, m.num_v_heads, m.head_v_dim)
    z = (x @ w[p + "in_proj_z.weight"].T).reshape(t, m.num_v_heads, m.head_v_dim)
    beta = sigmoid(x @ w[p + "in_proj_b.weight"].T)
    g = -np.exp(w[p + "A_log"]) * softplus(x @ w[p + "in_proj_a.weight"].T + w[p + "dt_bias"])
    q, k = group_heads(m, q), group_heads(m, k)
    if m.qk_l2norm:
        q, k = l2norm(q), l2norm(k)
    q = q * m.head_k_dim ** -0.5
    core, _ = rule(q, k, v, g, beta)
    if trace is not None:
        trace.append(core)
    core = rms_norm_gated(core, z, w[p + "norm.weight"], m.eps).reshape(t, m.value_dim)
    return core @ w[p + "out_proj.weight"].T


def mlp(w, p, x):
    """Qwen3_5MLP: down_proj(silu(gate_proj(x)) * up_proj(x))."""
    return (silu(x @ w[p + "gate_proj.weight"].T) * (x @ w[p + "up_proj.weight"].T)) @ w[p + "down_proj.weight"].T


def forward(m, w, ids, rule=recurrent_gated_delta_rule, trace=None):
    """Qwen3_5ForCausalLM on one sequence: logits [T, vocab] and the hidden states transformers reports (embedding
    output, each Qwen3_5DecoderLayer's output, the last one after the final norm). Each linear-attention layer's
    delta-rule output is appended to trace when it is a list."""
    x = w["model.embed_tokens.weight"][ids]
    hidden = [x]
    for l in range(m.layers):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], m.eps, m.norm_one_plus)
        if m.layer_types[l] == "linear_attention":
            x = x + gated_delta_net(m, w, p + "linear_attn.", h, rule, trace)
        else:
            x = x + full_attention(m, w, p + "self_attn.", h)
        x = x + mlp(w, p + "mlp.", rms_norm(x, w[p + "post_attention_layernorm.weight"], m.eps, m.norm_one_plus))
        hidden.append(x)
    x = rms_norm(x, w["model.norm.weight"], m.eps, m.norm_one_plus)
    hidden[-1] = x
    head = w["model.embed_tokens.weight"] if m.tied else w["lm_head.weight"]
    return x @ head.T, hidden
