"""An independent NumPy forward of Gemma 4's text model (Gemma4ForCausalLM), ported line by line from transformers'
src/transformers/models/gemma4/modeling_gemma4.py at commit c308a309e651a7e033f683353f3f75aa66d29502 (with
configuration_gemma4.py at 351f643ab9f582c01026b6d75aab3e2c5a8338cd and modeling_rope_utils.py's
_compute_proportional_rope_parameters):

- Gemma4RMSNorm: x * pow(mean(x^2) + eps, -0.5) * weight (weight itself, not 1 + weight); with_scale=False for
  v_norm (no weight);
- Gemma4TextScaledWordEmbedding: embed_tokens * sqrt(hidden_size); embed_tokens_per_layer * sqrt(hidden_size_per_layer_input);
- per-layer inputs (PLE): get_per_layer_inputs reshaped [T, L, P], project_per_layer_inputs:
  per_layer_projection_norm(per_layer_model_projection(inputs_embeds) * hidden^-0.5 reshaped [T, L, P]), then
  (projection + per_layer_inputs) * 2^-0.5; each layer after its MLP residual:
  h + post_per_layer_input_norm(per_layer_projection(act(per_layer_input_gate(h)) * per_layer_input));
- Gemma4TextAttention: head_dim = global_head_dim on full_attention layers; attention_k_eq_v on full layers (no
  v_proj: values = the raw k_proj output, num_global_key_value_heads heads); q_norm, k_norm, v_norm; RoPE on q and
  k; scaling 1.0; the last num_kv_shared_layers layers have no k/v of their own and attend over the K/V (after the
  cache, i.e. every position) of the last non-shared layer of their type;
- Gemma4TextMLP: intermediate_size doubled on the KV-shared layers when use_double_wide_mlp;
- Gemma4TextRotaryEmbedding: per layer type; "proportional" RoPE (partial_rotary_factor of the global head's
  frequency pairs rotate, base^(2i/global_head_dim), the rest have frequency 0), "default" over head_dim;
- the decoder layer's sandwich norms, then hidden_states *= layer_scalar (a buffer stored in the checkpoint);
- Gemma4ForCausalLM's final_logit_softcapping;
- the mixture-of-experts block (enable_moe_block; Gemma4TextRouter, Gemma4TextExperts and the decoder layer's three
  extra norms): beside the dense MLP, not in its place. With residual the hidden state after attention:
  out = post_feedforward_layernorm_1(mlp(pre_feedforward_layernorm(residual)))
      + post_feedforward_layernorm_2(experts(pre_feedforward_layernorm_2(residual)))
  then post_feedforward_layernorm(out) joins the residual as in the dense layer. The router reads the raw residual:
  rms(residual) without weight * router.scale * hidden_size^-0.5, router.proj, softmax over num_experts, the top
  top_k_experts, renormalised to sum to 1, times router.per_expert_scale[expert]. The experts are stored fused:
  experts.gate_up_proj [E, 2 * moe_intermediate_size, hidden] (gate rows first: chunk(2)), experts.down_proj
  [E, hidden, moe_intermediate_size], each act(gate) * up, the hidden_activation (gelu tanh). Every quirk has a switch in Gemma4 (for the quirk
references). It shares no code with QuantTune; it computes in float64. Used by make_fixtures.py."""
import math
import numpy as np


def rms(x, w, eps):
    h = x * np.power(np.mean(x * x, axis=-1, keepdims=True) + eps, -0.5)
    return h if w is None else h * w


def gelu_tanh(x):  # ACT2FN["gelu_pytorch_tanh"]
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


class Gemma4:
    """Gemma4TextConfig's keys, and switches that remove one quirk each."""

    def __init__(self, c, per_layer_input=True, layer_scalar=True, v_norm=True, softcap=True,
                 router_norm=True, router_scale=True, renormalise=True, per_expert_scale=True, moe_norms=True):
        self.c = c
        self.moe = bool(c.get("enable_moe_block"))
        self.router_norm, self.router_scale, self.renormalise = router_norm, router_scale, renormalise
        self.per_expert_scale, self.moe_norms = per_expert_scale, moe_norms
        self.min_routing_gap = math.inf  # the smallest gap between the k-th and (k+1)-th router probability seen
        self.L = c["num_hidden_layers"]
        self.types = list(c["layer_types"])
        self.eps = c["rms_norm_eps"]
        self.window = c["sliding_window"]
        self.ple = (c.get("hidden_size_per_layer_input") or 0) if per_layer_input else 0
        self.layer_scalar = layer_scalar
        self.v_norm = v_norm
        self.softcap = c.get("final_logit_softcapping") if softcap else None
        first_shared = self.L - c.get("num_kv_shared_layers", 0)
        self.first_shared = first_shared
        prev = self.types[:first_shared]
        self.source = {}
        for l in range(self.L):
            if l >= first_shared > 0:  # Gemma4TextAttention.is_kv_shared_layer
                self.source[l] = len(prev) - 1 - prev[::-1].index(self.types[l])

    def sliding(self, l):
        return self.types[l] == "sliding_attention"

    def head_dim(self, l):
        g = self.c.get("global_head_dim")
        return g if not self.sliding(l) and g else self.c["head_dim"]

    def k_eq_v(self, l):
        return bool(self.c.get("attention_k_eq_v")) and not self.sliding(l)

    def inv_freq(self, l):
        rope = self.c["rope_parameters"][self.types[l]]
        kind = rope.get("rope_type", "default")
        if kind == "proportional":
            # _compute_proportional_rope_parameters with head_dim_key "global_head_dim" on full layers
            hd = self.c.get("global_head_dim") if not self.sliding(l) else self.c["head_dim"]
            angles = int(rope.get("partial_rotary_factor", 1.0) * hd // 2)
            rotated = 1.0 / (rope["rope_theta"] ** (np.arange(0, 2 * angles, 2, dtype=np.float64) / hd))
            f = np.concatenate([rotated, np.zeros(hd // 2 - angles)])
            return f / rope.get("factor", 1.0)
        assert kind == "default", kind
        dim = self.c["head_dim"]  # compute_default_rope_parameters reads config.head_dim
        return 1.0 / (rope["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float64) / dim))


def mask(t, window):
    i, j = np.arange(t)[:, None], np.arange(t)[None, :]
    allowed = j <= i
    if window is not None:
        allowed &= j > i - window
    return np.where(allowed, 0.0, -np.inf)


def attention(m, w, p, x, l, cos, sin, shared):
    t = x.shape[0]
    hd, heads = m.head_dim(l), m.c["num_attention_heads"]
    q = (x @ w[p + "q_proj.weight"].T).reshape(t, heads, hd)
    q = rms(q, w[p + "q_norm.weight"], m.eps)
    q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
    if l in m.source:
        k, v = shared[m.source[l]]
    else:
        k = (x @ w[p + "k_proj.weight"].T).reshape(t, -1, hd)
        v = k if m.k_eq_v(l) else (x @ w[p + "v_proj.weight"].T).reshape(t, -1, hd)
        k = rms(k, w[p + "k_norm.weight"], m.eps)
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        if m.v_norm:
            v = rms(v, None, m.eps)
        shared[l] = (k, v)
    groups = heads // k.shape[1]
    k, v = np.repeat(k, groups, axis=1), np.repeat(v, groups, axis=1)
    scores = np.einsum("thd,shd->hts", q, k) * 1.0 + mask(t, m.window if m.sliding(l) else None)
    scores = scores - scores.max(-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(-1, keepdims=True)
    out = np.einsum("hts,shd->thd", probs, v).reshape(t, heads * hd)
    return out @ w[p + "o_proj.weight"].T


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def route(m, w, p, x):
    """Gemma4TextRouter of the hidden states x [T, hidden]: the routing weights [T, k] and the chosen experts [T, k]."""
    c = m.c
    r = rms(x, None, m.eps) if m.router_norm else x
    if m.router_scale:
        r = r * w[p + "router.scale"]
    r = r * c["hidden_size"] ** -0.5
    probs = softmax(r @ w[p + "router.proj.weight"].T)
    k = c["top_k_experts"]
    order = np.argsort(-probs, axis=-1, kind="stable")
    chosen = order[:, :k]
    ranked = np.take_along_axis(probs, order, axis=-1)
    if k < probs.shape[-1]:
        m.min_routing_gap = min(m.min_routing_gap, float((ranked[:, k - 1] - ranked[:, k]).min()))
    top = ranked[:, :k]
    if m.renormalise:
        top = top / top.sum(-1, keepdims=True)
    if m.per_expert_scale:
        top = top * w[p + "router.per_expert_scale"][chosen]
    return top, chosen


def experts(m, w, p, x, top, chosen):
    """Gemma4TextExperts: each token's chosen experts' gated MLPs, weighted and summed."""
    gate_up, down = w[p + "experts.gate_up_proj"], w[p + "experts.down_proj"]
    width = m.c["moe_intermediate_size"]
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        for j, e in enumerate(chosen[t]):
            both = gate_up[e] @ x[t]
            out[t] += top[t, j] * (down[e] @ (gelu_tanh(both[:width]) * both[width:]))
    return out


def forward(m, w, ids):
    """Logits [T, vocab] and the hidden states (embedding output, each layer's output, the last one after the final norm)."""
    c = m.c
    h = w["model.embed_tokens.weight"][ids] * np.float64(c["hidden_size"]) ** 0.5
    hidden = [h]
    t = len(ids)
    per_layer = None
    if m.ple:
        P = m.ple
        tokens = w["model.embed_tokens_per_layer.weight"][ids] * np.float64(P) ** 0.5
        tokens = tokens.reshape(t, m.L, P)
        projection = (h @ w["model.per_layer_model_projection.weight"].T) * c["hidden_size"] ** -0.5
        projection = rms(projection.reshape(t, m.L, P), w["model.per_layer_projection_norm.weight"], m.eps)
        per_layer = (projection + tokens) * 2.0 ** -0.5
    positions = np.arange(t, dtype=np.float64)
    shared = {}
    for l in range(m.L):
        p = f"model.layers.{l}."
        freqs = np.outer(positions, m.inv_freq(l))
        emb = np.concatenate([freqs, freqs], axis=-1)
        cos, sin = np.cos(emb), np.sin(emb)
        residual = h
        a = attention(m, w, p + "self_attn.", rms(h, w[p + "input_layernorm.weight"], m.eps), l, cos, sin, shared)
        h = residual + rms(a, w[p + "post_attention_layernorm.weight"], m.eps)
        residual = h
        x = rms(h, w[p + "pre_feedforward_layernorm.weight"], m.eps)
        x = (gelu_tanh(x @ w[p + "mlp.gate_proj.weight"].T) * (x @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
        if m.moe:
            norm = (lambda v, name: rms(v, w[p + name + ".weight"], m.eps)) if m.moe_norms else (lambda v, name: v)
            top, chosen = route(m, w, p, residual)
            routed = experts(m, w, p, norm(residual, "pre_feedforward_layernorm_2"), top, chosen)
            x = norm(x, "post_feedforward_layernorm_1") + norm(routed, "post_feedforward_layernorm_2")
        h = residual + rms(x, w[p + "post_feedforward_layernorm.weight"], m.eps)
        if m.ple:
            residual = h
            g = gelu_tanh(h @ w[p + "per_layer_input_gate.weight"].T) * per_layer[:, l, :]
            g = rms(g @ w[p + "per_layer_projection.weight"].T, w[p + "post_per_layer_input_norm.weight"], m.eps)
            h = residual + g
        if m.layer_scalar:
            h = h * w[p + "layer_scalar"]
        hidden.append(h)
    h = rms(h, w["model.norm.weight"], m.eps)
    hidden[-1] = h
    logits = h @ w.get("lm_head.weight", w["model.embed_tokens.weight"]).T
    if m.softcap is not None:
        logits = np.tanh(logits / m.softcap) * m.softcap
    return logits, hidden
