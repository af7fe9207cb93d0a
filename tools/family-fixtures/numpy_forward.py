"""An independent NumPy forward of the decoder families QuantTune loads, ported line by line
from transformers' modeling code (src/transformers/models/<family>/modeling_<family>.py:
LlamaRMSNorm / Qwen3RMSNorm / Gemma3RMSNorm, Qwen2Attention's q/k/v biases, Qwen3Attention / Gemma2Attention / Gemma3Attention with
eager_attention_forward, Qwen3MLP / Gemma3MLP, the decoder layers, Gemma3TextScaledWordEmbedding,
Gemma3RotaryEmbedding with per-layer-type RoPE, the sliding-window causal mask and
Gemma2ForCausalLM's final_logit_softcapping; modeling_phi3.py: Phi3Attention's fused qkv_proj split
at num_heads*head_dim and num_kv_heads*head_dim, Phi3MLP's gate_up_proj chunk(2) with the gate first,
apply_rotary_pos_emb's partial rotation (only the first rotary_dim = cos.shape[-1] dimensions), and
modeling_rope_utils.py's _compute_longrope_parameters with the longrope_frequency_update rule: the long
factors when max(position_ids) + 1 > original_max_position_embeddings, cos and sin times the attention
factor; modeling_gpt2.py: GPT2Model's inputs_embeds + wpe(position_ids), GPT2Block's ln_1/ln_2 LayerNorms,
GPT2Attention's c_attn split into q, k, v of embed_dim each, scaled by head_dim^-0.5, GPT2MLP's c_fc → gelu_new →
c_proj, every projection a Conv1D (x @ weight + bias, weight [in, out]), ln_f, the head tied to wte; modeling_qwen3_moe.py: Qwen3MoeSparseMoeBlock's router (gate logits, softmax in float32,
top-k, renormalised when norm_topk_prob, weights cast back), the experts' SwiGLU MLPs of moe_intermediate_size
summed expert by expert, Qwen3MoeDecoderLayer's rule for sparse layers (mlp_only_layers, decoder_sparse_step)
and load_balancing_loss_func with its attention-mask handling); modeling_qwen2_moe.py: Qwen2MoeSparseMoeBlock's shared expert
(a SwiGLU MLP of shared_expert_intermediate_size on every token, times sigmoid(shared_expert_gate(x)), added to the routed
experts' sum) and Qwen2MoeAttention's q/k/v biases; modeling_mixtral.py: MixtralSparseMoeBlock (block_sparse_moe.gate, the
top-k softmax weights always renormalised, experts' w1 gate, w3 up, w2 down) on every layer; modeling_olmo2.py: Olmo2DecoderLayer's norms after
attention and after the MLP (no input norm) and Olmo2Attention's q_norm / k_norm over the whole q_proj and k_proj
outputs before they are split into heads; modeling_smollm3.py: SmolLM3Attention's use_rope = no_rope_layers[layer_idx]
(no rotation in the layers marked 0, by default every no_rope_layer_interval-th); modeling_granite.py: GraniteModel's inputs_embeds *
embedding_multiplier, GraniteDecoderLayer's residual + block_output * residual_multiplier after attention and after the
MLP, GraniteAttention's scaling = attention_multiplier (not head_dim^-0.5), GraniteForCausalLM's logits / logits_scaling;
modeling_stablelm.py: nn.LayerNorm (weight and bias, layer_norm_eps) for input_layernorm, post_attention_layernorm and
the final norm, StableLmAttention's q/k/v biases (use_qkv_bias), head_dim = hidden_size / num_attention_heads and RoPE on
its first int(head_dim * partial_rotary_factor) dimensions). It shares no code with QuantTune; it computes in float64. Used by make_fixtures.py."""
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


def longrope_inv_freq(f, seq_len):
    # _compute_longrope_parameters: 1 / (ext_factors * base^(arange(0, dim, 2) / dim)), ext the long list past the
    # original context (longrope_frequency_update with seq_len = max(position_ids) + 1)
    rs = f.rope_scaling
    ext = np.array(rs["long_factor"] if seq_len > f.original_max else rs["short_factor"], dtype=np.float64)
    return 1.0 / (ext * f.rope_theta ** (np.arange(0, f.rotary_dim, 2, dtype=np.float64) / f.rotary_dim))


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


class Family:
    """The config.json of a fixture read as transformers' config classes would."""

    def __init__(self, config, post_norm=True, whole_qk_norm=True, no_rope=True, shared_expert=True, shared_expert_gate=True):
        """The switches remove one quirk each for the quirk references: post_norm False runs OLMo 2's two norms as
        Llama's pre-norms (post_attention_layernorm before attention, post_feedforward_layernorm before the MLP);
        whole_qk_norm False normalises each head of q and k (the weights split per head); no_rope False rotates
        every SmolLM3 layer; shared_expert False leaves out Qwen2-MoE's shared expert, shared_expert_gate False adds
        its output unscaled (no sigmoid gate)."""
        c = config
        self.type = c["model_type"]
        if self.type == "gpt2":  # GPT2Config: n_embd, n_head, n_layer, layer_norm_epsilon; n_inner None = 4 * n_embd
            self.hidden, self.heads, self.layers = c["n_embd"], c["n_head"], c["n_layer"]
            self.head_dim, self.eps = self.hidden // self.heads, c["layer_norm_epsilon"]
            return
        self.gemma = self.type in ("gemma2", "gemma3_text")
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["layer_norm_eps"] if self.type == "stablelm" else c["rms_norm_eps"]
        # StableLmModel: nn.LayerNorm everywhere (layer_norm_rms: the quirk check's RMSNorm in its place)
        self.layer_norm = self.type == "stablelm"
        self.layer_norm_rms = False
        self.tied = c.get("tie_word_embeddings", self.gemma)
        self.qk_norm = self.type in ("qwen3", "qwen3_moe", "gemma3_text", "olmo2")
        # Olmo2Attention: q_norm(q_proj(x)) over num_heads * head_dim; Olmo2DecoderLayer: norms after each block
        self.whole_qk_norm = self.type == "olmo2" and whole_qk_norm
        self.post_norm = self.type == "olmo2" and post_norm
        self.pre_norm_of_olmo2 = self.type == "olmo2" and not post_norm
        # SmolLM3Config: no_rope_layers, or int((i + 1) % no_rope_layer_interval != 0)
        if self.type == "smollm3" and no_rope:
            self.use_rope = list(c.get("no_rope_layers") or [int((i + 1) % c.get("no_rope_layer_interval", 4) != 0) for i in range(self.layers)])
        else:
            self.use_rope = [1] * self.layers
        # Qwen3MoeConfig / Qwen2MoeConfig: experts and the layers that hold them (Qwen3MoeDecoderLayer, Qwen2MoeDecoderLayer);
        # MixtralConfig: num_local_experts in every layer, always renormalised (MixtralSparseMoeBlock)
        self.num_experts = {"qwen3_moe": c.get("num_experts", 128), "qwen2_moe": c.get("num_experts", 60),
                            "mixtral": c.get("num_local_experts", 8)}.get(self.type, 0)
        self.top_k = c.get("num_experts_per_tok", {"qwen2_moe": 4, "mixtral": 2}.get(self.type, 8))
        self.norm_topk_prob = True if self.type == "mixtral" else c.get("norm_topk_prob", False)
        # Qwen2MoeSparseMoeBlock's shared_expert (shared_expert_intermediate_size) and its sigmoid shared_expert_gate
        self.shared_expert = self.type == "qwen2_moe" and shared_expert and c.get("shared_expert_intermediate_size", 5632) > 0
        self.shared_expert_gate = shared_expert_gate
        # the checkpoint's names: Mixtral's block_sparse_moe.experts.N.w1 (gate), w3 (up), w2 (down)
        self.moe_module = "block_sparse_moe." if self.type == "mixtral" else "mlp."
        self.expert_names = ("w1", "w3", "w2") if self.type == "mixtral" else ("gate_proj", "up_proj", "down_proj")
        mlp_only = c.get("mlp_only_layers") or []
        step = c.get("decoder_sparse_step", 1)
        self.sparse = [l not in mlp_only and self.num_experts > 0 and (l + 1) % step == 0 for l in range(self.layers)]
        self.act = gelu_tanh if self.gemma else silu
        self.scaling = (c["query_pre_attn_scalar"] if self.gemma else self.head_dim) ** -0.5
        # GraniteConfig: the four multipliers, 1.0 by default; GraniteAttention's scaling is attention_multiplier itself
        granite = self.type == "granite"
        self.embedding_multiplier = c.get("embedding_multiplier", 1.0) if granite else 1.0
        self.residual_multiplier = c.get("residual_multiplier", 1.0) if granite else 1.0
        self.logits_scaling = c.get("logits_scaling", 1.0) if granite else 1.0
        if granite:
            self.scaling = c.get("attention_multiplier", 1.0)
        self.attn_softcap = c.get("attn_logit_softcapping")
        self.final_softcap = c.get("final_logit_softcapping")
        window = c.get("sliding_window")
        if self.gemma:
            types = c.get("layer_types") or [
                "sliding_attention" if (i + 1) % c.get("sliding_window_pattern", 2 if self.type == "gemma2" else 6) else "full_attention"
                for i in range(self.layers)]
        elif self.type == "smollm3":  # SmolLM3Attention: a window only with use_sliding_window, on layer_types' sliding layers
            nope = [int((i + 1) % c.get("no_rope_layer_interval", 4) != 0) for i in range(self.layers)]
            rope_of = c.get("no_rope_layers") or nope
            types = c.get("layer_types") or ["sliding_attention" if c.get("use_sliding_window") and window is not None and not rope_of[i]
                                             else "full_attention" for i in range(self.layers)]
            types = [t if c.get("use_sliding_window") else "full_attention" for t in types]
        else:
            types = ["sliding_attention" if c.get("use_sliding_window") else "full_attention"] * self.layers
        if self.type in ("phi3", "mixtral"):  # Phi3Model, MixtralModel: create_sliding_window_causal_mask whenever sliding_window is set
            types = ["sliding_attention" if window is not None else "full_attention"] * self.layers
        self.windows = [window if t == "sliding_attention" else None for t in types]
        self.rotary_dim = int(self.head_dim * c.get("partial_rotary_factor", 0.25 if self.type == "stablelm" else 1.0))
        self.rope_scaling = c.get("rope_scaling")
        self.rope_theta = c.get("rope_theta", 10000.0)
        self.attention_scaling = 1.0
        if self.rope_scaling and self.rope_scaling.get("type", self.rope_scaling.get("rope_type")) == "longrope":
            # Phi3Config has original_max_position_embeddings, so factor = max_position_embeddings / original
            self.original_max = c.get("original_max_position_embeddings", 4096)
            factor = c["max_position_embeddings"] / self.original_max
            self.attention_scaling = self.rope_scaling.get("attention_factor") or (
                1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(self.original_max)))
        else:
            self.rope_scaling = None
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
    if p + "qkv_proj.weight" in w:  # Phi3Attention: qkv[..., :query_pos], then the keys, then the values
        qkv = proj("qkv_proj")
        qp, kvp = f.heads * f.head_dim, f.kv * f.head_dim
        q, k, v = qkv[:, :qp], qkv[:, qp:qp + kvp], qkv[:, qp + kvp:]
    else:
        q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
    if f.whole_qk_norm:  # Olmo2Attention: the norms over every head at once, before the view into heads
        q = rms_norm(q, w[p + "q_norm.weight"], f.eps, False)
        k = rms_norm(k, w[p + "k_norm.weight"], f.eps, False)
    q = q.reshape(t, f.heads, f.head_dim)
    k = k.reshape(t, f.kv, f.head_dim)
    v = v.reshape(t, f.kv, f.head_dim)
    if f.type == "olmo2" and not f.whole_qk_norm:  # the quirk removed: each head normed by its slice of the weight
        q = rms_norm(q, w[p + "q_norm.weight"].reshape(f.heads, f.head_dim), f.eps, False)
        k = rms_norm(k, w[p + "k_norm.weight"].reshape(f.kv, f.head_dim), f.eps, False)
    elif f.qk_norm and not f.whole_qk_norm:
        q = rms_norm(q, w[p + "q_norm.weight"], f.eps, f.gemma)
        k = rms_norm(k, w[p + "k_norm.weight"], f.eps, f.gemma)
    q, k, v = (a.transpose(1, 0, 2) for a in (q, k, v))  # [heads, T, D]
    freqs_of = longrope_inv_freq(f, t) if f.rope_scaling else inv_freq(f.ropes[layer], f.rotary_dim)
    freqs = np.arange(t, dtype=np.float64)[:, None] * freqs_of[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb) * f.attention_scaling, np.sin(emb) * f.attention_scaling
    if not f.use_rope[layer]:  # SmolLM3: a no-RoPE layer
        cos, sin = np.ones_like(cos), np.zeros_like(sin)
    r = f.rotary_dim  # apply_rotary_pos_emb: q_rot, q_pass = q[..., :rotary_dim], q[..., rotary_dim:]
    q = np.concatenate([q[..., :r] * cos + rotate_half(q[..., :r]) * sin, q[..., r:]], axis=-1)
    k = np.concatenate([k[..., :r] * cos + rotate_half(k[..., :r]) * sin, k[..., r:]], axis=-1)
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


def mlp(f, w, p, x, names=("gate_proj", "up_proj", "down_proj")):
    if p + "gate_up_proj.weight" in w:  # Phi3MLP: gate, up_states = gate_up_proj(x).chunk(2, dim=-1)
        gate, up = np.split(x @ w[p + "gate_up_proj.weight"].T, 2, axis=-1)
        return (up * f.act(gate)) @ w[p + "down_proj.weight"].T
    g, u, d = names  # MixtralBlockSparseTop2MLP: w2(act_fn(w1(x)) * w3(x))
    return (f.act(x @ w[p + g + ".weight"].T) * (x @ w[p + u + ".weight"].T)) @ w[p + d + ".weight"].T


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sparse_moe(f, w, p, x):
    """Qwen3MoeSparseMoeBlock (Qwen2MoeSparseMoeBlock with its shared expert; MixtralSparseMoeBlock): the output
    [T, hidden] and the router logits [T, experts]."""
    router_logits = x @ w[p + "gate.weight"].T
    probs = softmax(router_logits)  # F.softmax(router_logits, dim=1, dtype=torch.float)
    selected = np.argsort(-probs, axis=-1, kind="stable")[:, :f.top_k]  # torch.topk: largest first
    weights = np.take_along_axis(probs, selected, axis=-1)
    if f.norm_topk_prob:
        weights = weights / weights.sum(axis=-1, keepdims=True)
    out = np.zeros_like(x)
    for e in range(f.num_experts):  # expert by expert, index_add_ of the weighted outputs
        token, slot = np.nonzero(selected == e)
        if len(token) == 0:
            continue
        out[token] += mlp(f, w, p + f"experts.{e}.", x[token], f.expert_names) * weights[token, slot][:, None]
    if f.shared_expert:  # Qwen2MoeSparseMoeBlock: expert_output += sigmoid(shared_expert_gate(x)) * shared_expert(x)
        shared = mlp(f, w, p + "shared_expert.", x)
        if f.shared_expert_gate:
            shared = shared / (1.0 + np.exp(-(x @ w[p + "shared_expert_gate.weight"].T)))
        out = out + shared
    return out, router_logits


def load_balancing_loss(gate_logits, num_experts, top_k, attention_mask=None):
    """load_balancing_loss_func: gate_logits a list (one per sparse layer) of [B*T, experts];
    attention_mask [B, T] of 1 (token) and 0 (padding) or None."""
    logits = np.concatenate(gate_logits, axis=0)
    routing = softmax(logits)
    selected = np.argsort(-routing, axis=-1, kind="stable")[:, :top_k]
    expert_mask = np.eye(num_experts)[selected]  # one_hot: [N, top_k, experts]
    if attention_mask is None:
        tokens_per_expert = expert_mask.mean(axis=0)  # [top_k, experts]
        router_prob_per_expert = routing.mean(axis=0)  # [experts]
    else:
        b, t = attention_mask.shape
        layers = logits.shape[0] // (b * t)
        m = np.broadcast_to(attention_mask[None, :, :], (layers, b, t)).reshape(-1).astype(np.float64)
        tokens_per_expert = (expert_mask * m[:, None, None]).sum(axis=0) / m.sum()
        router_prob_per_expert = (routing * m[:, None]).sum(axis=0) / m.sum()
    return float((tokens_per_expert * router_prob_per_expert[None, :]).sum() * num_experts)


def layer_norm(x, w, b, eps):
    # nn.LayerNorm: (x - mean) / sqrt(var + eps) * weight + bias, the biased variance
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gpt2_forward(f, w, ids):
    t = len(ids)
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][np.arange(t)]
    hidden = [x]
    for l in range(f.layers):
        p = f"transformer.h.{l}."
        conv = lambda name, h: h @ w[p + name + ".weight"] + w[p + name + ".bias"]  # Conv1D: addmm(bias, x, weight)
        ln = lambda name, h: layer_norm(h, w[p + name + ".weight"], w[p + name + ".bias"], f.eps)
        q, k, v = np.split(conv("attn.c_attn", ln("ln_1", x)), 3, axis=-1)  # c_attn(x).split(split_size=embed_dim)
        q, k, v = (a.reshape(t, f.heads, f.head_dim).transpose(1, 0, 2) for a in (q, k, v))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(f.head_dim) + causal_mask(t, None)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        x = x + conv("attn.c_proj", (probs @ v).transpose(1, 0, 2).reshape(t, f.hidden))
        x = x + conv("mlp.c_proj", gelu_tanh(conv("mlp.c_fc", ln("ln_2", x))))  # gelu_new is the tanh approximation
        hidden.append(x)
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], f.eps)
    hidden[-1] = x
    return x @ w["transformer.wte.weight"].T, hidden


def model_norm(f, w, name, h):
    """A decoder norm: the family's RMSNorm, or StableLM's nn.LayerNorm with its bias."""
    if f.layer_norm:
        if f.layer_norm_rms:  # the quirk check: x * rsqrt(mean(x^2) + eps) * w + b, without subtracting the mean
            return rms_norm(h, w[name + ".weight"], f.eps, False) + w.get(name + ".bias", 0.0)
        return layer_norm(h, w[name + ".weight"], w.get(name + ".bias", 0.0), f.eps)
    return rms_norm(h, w[name + ".weight"], f.eps, f.gemma)


def forward(f, w, ids, router_logits=None):
    """Logits [T, vocab] and the hidden states transformers reports (embedding output, each
    layer's output, the last one after the final norm) for one sequence of ids; each sparse
    layer's router logits [T, experts] are appended to router_logits when it is a list."""
    if f.type == "gpt2":
        return gpt2_forward(f, w, ids)
    x = w["model.embed_tokens.weight"][ids] * f.embedding_multiplier
    if f.gemma:
        x = x * np.float64(np.float32(f.hidden ** 0.5))  # the scale in the embedding's dtype (fp32 here)
    hidden = [x]
    for l in range(f.layers):
        p = f"model.layers.{l}."
        norm = lambda name, h: model_norm(f, w, p + name, h)
        if f.post_norm:  # Olmo2DecoderLayer
            x = x + norm("post_attention_layernorm", attention(f, w, p + "self_attn.", x, l))
            x = x + norm("post_feedforward_layernorm", mlp(f, w, p + "mlp.", x))
        elif f.pre_norm_of_olmo2:  # the post-norm quirk removed: the same two norms before each block
            x = x + attention(f, w, p + "self_attn.", norm("post_attention_layernorm", x), l)
            x = x + mlp(f, w, p + "mlp.", norm("post_feedforward_layernorm", x))
        elif f.gemma:
            x = x + norm("post_attention_layernorm", attention(f, w, p + "self_attn.", norm("input_layernorm", x), l))
            x = x + norm("post_feedforward_layernorm", mlp(f, w, p + "mlp.", norm("pre_feedforward_layernorm", x)))
        else:
            x = x + attention(f, w, p + "self_attn.", norm("input_layernorm", x), l) * f.residual_multiplier
            h = norm("post_attention_layernorm", x)
            if f.sparse[l]:
                out, logits = sparse_moe(f, w, p + f.moe_module, h)
                if router_logits is not None:
                    router_logits.append(logits)
                x = x + out
            else:
                x = x + mlp(f, w, p + "mlp.", h) * f.residual_multiplier
        hidden.append(x)
    x = model_norm(f, w, "model.norm", x)
    hidden[-1] = x
    head = w["model.embed_tokens.weight"] if f.tied else w["lm_head.weight"]
    logits = x @ head.T / f.logits_scaling
    if f.final_softcap is not None:
        logits = np.tanh(logits / f.final_softcap) * f.final_softcap
    return logits, hidden
