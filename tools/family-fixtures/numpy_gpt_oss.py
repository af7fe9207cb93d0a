"""A float64 NumPy port of transformers' modeling_gpt_oss.py (GptOssForCausalLM, read at commit
00d4b3d2142cb4ced2f51b90614b5d26bc045015; GptOssConfig at 02b8f42b4240dddea1b27c45d2dc95fb2682f841; YaRN as
_compute_yarn_parameters in modeling_rope_utils.py; MXFP4 as convert_moe_packed_tensors in integrations/mxfp4.py at
93a1c400417fd8e89db9f42f8b2265e97265d75a), written for the tiny-gpt-oss fixture:

- GptOssRMSNorm: weight * (x * rsqrt(mean(x^2) + eps));
- GptOssAttention: q/k/v/o with biases, RoPE (rotate-half over the two halves of each head) with YaRN inverse
  frequencies and cos/sin times the attention factor, GQA, scores * head_dim^-0.5, the causal mask (and on
  sliding_attention layers the window: key j visible from query i when i - sliding_window < j <= i), then the
  per-head sink logit appended as one more column of every row, softmax over the row, the sink column dropped;
- GptOssMLP: router logits = x W^T + b, the top k logits and their softmax; each chosen expert
  gate_up = x @ gate_up_proj[e] + gate_up_proj_bias[e], gate = gate_up[..., ::2], up = gate_up[..., 1::2],
  gate clamped to at most limit, up to [-limit, limit], glu = gate * sigmoid(gate * alpha),
  out = ((up + 1) * glu) @ down_proj[e] + down_proj_bias[e], weighted by the routing weight and summed;
- experts read from MXFP4 *_blocks / *_scales when the weights hold them (dequantize_mxfp4 below), else from the
  plain gate_up_proj [E, hidden, 2I] and down_proj [E, I, hidden].

Switches remove one quirk each, for the references that show it matters: sinks, clamp, sliding, yarn, interleaved
(False reads gate and up as the two halves of gate_up instead of its even and odd columns).
"""
import math
import numpy as np

# E2M1 by nibble value: bit 3 the sign, bits 2-1 the exponent, bit 0 the mantissa.
def _fp4(n):
    sign = -1.0 if n & 8 else 1.0
    e, m = (n >> 1) & 3, n & 1
    return sign * (m * 0.5 if e == 0 else (1 + m * 0.5) * 2.0 ** (e - 1))

FP4 = np.array([_fp4(n) for n in range(16)])


def dequantize_mxfp4(blocks, scales):
    """blocks [E, R, G, 16] uint8 (two E2M1 values per byte, the low nibble first), scales [E, R, G] uint8 (E8M0:
    2^(s - 127) per block of 32) → [E, G*32, R], the transpose transformers applies (gate_up_proj [E, hidden, 2I],
    down_proj [E, I, hidden])."""
    blocks = blocks.astype(np.uint8)
    scales = scales.astype(np.int64)
    values = np.empty(blocks.shape[:-1] + (32,))
    values[..., 0::2] = FP4[blocks & 0x0F]
    values[..., 1::2] = FP4[blocks >> 4]
    values = values * np.exp2(scales - 127)[..., None]
    e, r, g, _ = values.shape
    return values.reshape(e, r, g * 32).transpose(0, 2, 1)


def yarn(c, dim):
    """inv_freq [dim/2] and the attention factor of rope_parameters of type yarn (or default)."""
    p = c.get("rope_parameters") or {}
    base = p.get("rope_theta", c.get("rope_theta", 150000.0))
    pos = base ** (np.arange(0, dim, 2) / dim)
    if p.get("rope_type", "default") == "default":
        return 1.0 / pos, 1.0
    factor, original = p["factor"], p["original_max_position_embeddings"]
    attention = p.get("attention_factor") or (0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0)
    beta_fast, beta_slow = p.get("beta_fast") or 32, p.get("beta_slow") or 1
    corr = lambda rot: dim * math.log(original / (rot * 2 * math.pi)) / (2 * math.log(base))
    low, high = corr(beta_fast), corr(beta_slow)
    if p.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2) - low) / (high - low), 0, 1)
    keep = 1 - ramp
    return (1.0 / (factor * pos)) * (1 - keep) + (1.0 / pos) * keep, attention


class GptOss:
    def __init__(self, c, sinks=True, clamp=True, sliding=True, yarn_rope=True, interleaved=True):
        self.c = c
        self.h, self.heads, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or self.h // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c.get("rms_norm_eps", 1e-5)
        self.window = c.get("sliding_window", 128)
        self.types = c.get("layer_types") or ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(self.layers)]
        self.experts, self.top_k = c["num_local_experts"], c["num_experts_per_tok"]
        self.alpha, self.limit = c.get("swiglu_alpha", 1.702), c.get("swiglu_limit", 7.0)
        self.sinks, self.clamp, self.sliding, self.interleaved = sinks, clamp, sliding, interleaved
        rope_c = c if yarn_rope else dict(c, rope_parameters={"rope_type": "default", "rope_theta": (c.get("rope_parameters") or {}).get("rope_theta", 150000.0)})
        self.inv_freq, self.attention_factor = yarn(rope_c, self.d)


def rms(x, w, eps):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


def experts_of(m, w, p):
    """gate_up_proj [E, hidden, 2I], its bias [E, 2I], down_proj [E, I, hidden], its bias [E, hidden] of layer prefix p."""
    e = p + "mlp.experts."
    if e + "gate_up_proj_blocks" in w:
        gate_up = dequantize_mxfp4(w[e + "gate_up_proj_blocks"], w[e + "gate_up_proj_scales"])
        down = dequantize_mxfp4(w[e + "down_proj_blocks"], w[e + "down_proj_scales"])
    else:
        gate_up, down = w[e + "gate_up_proj"], w[e + "down_proj"]
    return gate_up, w[e + "gate_up_proj_bias"], down, w[e + "down_proj_bias"]


def moe(m, w, p, x, router_logits=None):
    logits = x @ w[p + "mlp.router.weight"].T + w[p + "mlp.router.bias"]
    if router_logits is not None:
        router_logits.append(logits)
    gate_up, gate_up_bias, down, down_bias = experts_of(m, w, p)
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        top = np.argsort(-logits[t], kind="stable")[:m.top_k]
        z = logits[t, top] - logits[t, top].max()
        weights = np.exp(z) / np.exp(z).sum()
        for e, r in zip(top, weights):
            gu = x[t] @ gate_up[e] + gate_up_bias[e]
            if m.interleaved:
                gate, up = gu[::2], gu[1::2]
            else:
                half = gu.shape[0] // 2
                gate, up = gu[:half], gu[half:]
            if m.clamp:
                gate = np.minimum(gate, m.limit)
                up = np.clip(up, -m.limit, m.limit)
            glu = gate / (1 + np.exp(-gate * m.alpha))
            out[t] += r * (((up + 1) * glu) @ down[e] + down_bias[e])
    return out


def attention(m, w, p, x, layer, cos, sin):
    t = x.shape[0]
    a = p + "self_attn."
    lin = lambda n, v: v @ w[a + n + ".weight"].T + w[a + n + ".bias"]
    q = lin("q_proj", x).reshape(t, m.heads, m.d).transpose(1, 0, 2)
    k = lin("k_proj", x).reshape(t, m.kv, m.d).transpose(1, 0, 2)
    v = lin("v_proj", x).reshape(t, m.kv, m.d).transpose(1, 0, 2)
    q, k = rope(q, cos, sin), rope(k, cos, sin)
    group = m.heads // m.kv
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) * m.d ** -0.5
    i, j = np.arange(t)[:, None], np.arange(t)[None, :]
    blocked = j > i
    if m.sliding and m.types[layer] == "sliding_attention" and m.window is not None:
        blocked = blocked | (j <= i - m.window)
    scores = np.where(blocked[None], -np.inf, scores)
    if m.sinks:
        sink = np.broadcast_to(w[a + "sinks"].reshape(-1, 1, 1), (m.heads, t, 1))
        scores = np.concatenate([scores, sink], -1)
    scores = scores - scores.max(-1, keepdims=True)
    probs = np.exp(scores)
    probs = probs / probs.sum(-1, keepdims=True)
    probs = probs[..., :t]
    out = (probs @ v).transpose(1, 0, 2).reshape(t, m.heads * m.d)
    return lin("o_proj", out)


def forward(m, w, ids, router_logits=None):
    """Logits [T, vocab] and the hidden states transformers reports (embedding output, each layer's output, the last
    after the final norm)."""
    x = w["model.embed_tokens.weight"][ids]
    freqs = np.arange(len(ids))[:, None] * m.inv_freq[None, :]
    cos, sin = np.cos(freqs) * m.attention_factor, np.sin(freqs) * m.attention_factor
    hidden = [x]
    for l in range(m.layers):
        p = f"model.layers.{l}."
        x = x + attention(m, w, p, rms(x, w[p + "input_layernorm.weight"], m.eps), l, cos, sin)
        x = x + moe(m, w, p, rms(x, w[p + "post_attention_layernorm.weight"], m.eps), router_logits)
        hidden.append(x)
    x = rms(x, w["model.norm.weight"], m.eps)
    hidden[-1] = x
    return x @ w["lm_head.weight"].T, hidden
