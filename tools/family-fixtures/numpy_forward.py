"""An independent NumPy forward of the decoder families QuantTune loads, ported line by line
from transformers' modeling code (src/transformers/models/<family>/modeling_<family>.py:
LlamaRMSNorm / Qwen3RMSNorm / Gemma3RMSNorm, Qwen2Attention's q/k/v biases, Qwen3Attention / Gemma2Attention / Gemma3Attention with
eager_attention_forward, Qwen3MLP / Gemma3MLP, the decoder layers, Gemma3TextScaledWordEmbedding,
Gemma3RotaryEmbedding with per-layer-type RoPE, the sliding-window causal mask and
Gemma2ForCausalLM's final_logit_softcapping). It shares no code with QuantTune; it computes in
float64. Used by make_fixtures.py."""
import math
import numpy as np


def rms_norm(x, w, eps, offset_one):
    # Qwen3RMSNorm: weight * (x * rsqrt(mean(x^2) + eps)); Gemma3RMSNorm: x_hat * (1 + weight)
    h = x * (1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))
    return h * (1.0 + w) if offset_one else w * h


def gelu_tanh(x):  # ACT2FN["gelu_pytorch_tanh"]
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def inv_freq(rope, dim):
    # compute_default_rope_parameters: 1 / base^(arange(0, dim, 2) / dim); "linear" divides by factor
    f = 1.0 / (rope["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    if rope.get("rope_type", "default") == "linear":
        f = f / rope["factor"]
    return f


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


class Family:
    """The config.json of a fixture read as transformers' config classes would."""

    def __init__(self, config):
        c = config
        self.type = c["model_type"]
        self.gemma = self.type in ("gemma2", "gemma3_text")
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        self.tied = c.get("tie_word_embeddings", self.gemma)
        self.qk_norm = self.type in ("qwen3", "gemma3_text")
        self.act = gelu_tanh if self.gemma else silu
        self.scaling = (c["query_pre_attn_scalar"] if self.gemma else self.head_dim) ** -0.5
        self.attn_softcap = c.get("attn_logit_softcapping")
        self.final_softcap = c.get("final_logit_softcapping")
        window = c.get("sliding_window")
        if self.gemma:
            types = c.get("layer_types") or [
                "sliding_attention" if (i + 1) % c.get("sliding_window_pattern", 2 if self.type == "gemma2" else 6) else "full_attention"
                for i in range(self.layers)]
        else:
            types = ["sliding_attention" if c.get("use_sliding_window") else "full_attention"] * self.layers
        self.windows = [window if t == "sliding_attention" else None for t in types]
        rp = c.get("rope_parameters") or {"rope_theta": c.get("rope_theta", 10000.0), "rope_type": "default"}
        if "full_attention" in rp:  # Gemma3: one RoPE per layer type
            self.ropes = [rp[t] for t in types]
        else:
            self.ropes = [rp] * self.layers


def causal_mask(t, window):
    # create_causal_mask / create_sliding_window_causal_mask: kv <= q, and q - kv < window
    q = np.arange(t)[:, None]
    k = np.arange(t)[None, :]
    allowed = k <= q
    if window is not None:
        allowed &= (q - k) < window
    return np.where(allowed, 0.0, -np.inf)


def attention(f, w, p, x, layer):
    t = x.shape[0]
    # Qwen2Attention (and Llama with attention_bias): q/k/v projections with biases.
    proj = lambda name: x @ w[p + name + ".weight"].T + (w[p + name + ".bias"] if p + name + ".bias" in w else 0.0)
    q = proj("q_proj").reshape(t, f.heads, f.head_dim)
    k = proj("k_proj").reshape(t, f.kv, f.head_dim)
    v = proj("v_proj").reshape(t, f.kv, f.head_dim)
    if f.qk_norm:
        q = rms_norm(q, w[p + "q_norm.weight"], f.eps, f.gemma)
        k = rms_norm(k, w[p + "k_norm.weight"], f.eps, f.gemma)
    q, k, v = (a.transpose(1, 0, 2) for a in (q, k, v))  # [heads, T, D]
    freqs = np.arange(t, dtype=np.float64)[:, None] * inv_freq(f.ropes[layer], f.head_dim)[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    rep = f.heads // f.kv  # repeat_kv
    k = np.repeat(k, rep, axis=0)
    v = np.repeat(v, rep, axis=0)
    scores = q @ k.transpose(0, 2, 1) * f.scaling
    if f.attn_softcap is not None:
        scores = np.tanh(scores / f.attn_softcap) * f.attn_softcap
    scores = scores + causal_mask(t, f.windows[layer])
    scores = scores - scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    out = (probs @ v).transpose(1, 0, 2).reshape(t, f.heads * f.head_dim)
    return out @ w[p + "o_proj.weight"].T


def mlp(f, w, p, x):
    return (f.act(x @ w[p + "gate_proj.weight"].T) * (x @ w[p + "up_proj.weight"].T)) @ w[p + "down_proj.weight"].T


def forward(f, w, ids):
    """Logits [T, vocab] and the hidden states transformers reports (embedding output, each
    layer's output, the last one after the final norm) for one sequence of ids."""
    x = w["model.embed_tokens.weight"][ids]
    if f.gemma:
        x = x * np.float64(np.float32(f.hidden ** 0.5))  # the scale in the embedding's dtype (fp32 here)
    hidden = [x]
    for l in range(f.layers):
        p = f"model.layers.{l}."
        norm = lambda name, h: rms_norm(h, w[p + name + ".weight"], f.eps, f.gemma)
        if f.gemma:
            x = x + norm("post_attention_layernorm", attention(f, w, p + "self_attn.", norm("input_layernorm", x), l))
            x = x + norm("post_feedforward_layernorm", mlp(f, w, p + "mlp.", norm("pre_feedforward_layernorm", x)))
        else:
            x = x + attention(f, w, p + "self_attn.", norm("input_layernorm", x), l)
            x = x + mlp(f, w, p + "mlp.", norm("post_attention_layernorm", x))
        hidden.append(x)
    x = rms_norm(x, w["model.norm.weight"], f.eps, f.gemma)
    hidden[-1] = x
    head = w["model.embed_tokens.weight"] if f.tied else w["lm_head.weight"]
    logits = x @ head.T
    if f.final_softcap is not None:
        logits = np.tanh(logits / f.final_softcap) * f.final_softcap
    return logits, hidden
