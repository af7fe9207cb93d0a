"""tiny-gemma4 for make_fixtures.py: Gemma 4's text model (gemma4_text) with every dense quirk on, its weights and
its quirk references, computed by numpy_gemma4.py.

Five layers, sliding (window 16) / full / sliding / sliding / full; sliding heads of 16 dimensions, global heads of 32
(global_head_dim); attention_k_eq_v on the full layers (one key head, num_global_key_value_heads, whose raw keys are
also the values); the last two layers share the K/V of layers 2 (sliding) and 1 (full) (num_kv_shared_layers 2) and
have double-wide MLPs (use_double_wide_mlp); per-layer inputs of 8 per layer (hidden_size_per_layer_input); proportional
RoPE on the full layers (a quarter of the global head's frequency pairs, base 1e6), default RoPE base 1e4 on the sliding
ones; layer_scalar away from 1; final logit soft-cap 1; tied head.

tiny-gemma4-moe (moe_config): the mixture-of-experts variant as gemma-4-26B-A4B has it (enable_moe_block): every
layer's router and 8 experts of width 32 (top 2) beside a dense MLP of 64 (hidden size 32, to keep the files small), no
per-layer inputs and no KV sharing; three layers, sliding (window 16) / sliding / full, attention_k_eq_v on the full one; router.scale and
per_expert_scale away from 1."""
import numpy as np
from numpy_gemma4 import Gemma4, forward

COMPUTED_BY = ("tools/family-fixtures/numpy_gemma4.py (a NumPy port of transformers' modeling_gemma4.py at "
               "c308a309e651a7e033f683353f3f75aa66d29502, text model) in float64")


def config(common):
    c = {k: v for k, v in common.items()}
    c.update(architectures=["Gemma4ForCausalLM"], model_type="gemma4_text", num_hidden_layers=5, head_dim=16,
             global_head_dim=32, num_global_key_value_heads=1, attention_k_eq_v=True, num_kv_shared_layers=2,
             use_double_wide_mlp=True, hidden_size_per_layer_input=8, vocab_size_per_layer_input=common["vocab_size"],
             hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, sliding_window=16,
             layer_types=["sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "full_attention"],
             final_logit_softcapping=1.0, enable_moe_block=False, use_bidirectional_attention=None,
             rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                              "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1000000.0}})
    return c


def moe_config(common):
    c = config(common)
    c.update(num_hidden_layers=3, hidden_size=32, intermediate_size=64, hidden_size_per_layer_input=0, num_kv_shared_layers=0,
             use_double_wide_mlp=False, layer_types=["sliding_attention", "sliding_attention", "full_attention"],
             enable_moe_block=True, num_experts=8, top_k_experts=2, moe_intermediate_size=32)
    return c


def weights(c, rng):
    m = Gemma4(c)
    h, i, v, P, L = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["hidden_size_per_layer_input"], c["num_hidden_layers"]
    heads = c["num_attention_heads"]
    lin = lambda o, n: rng.normal(0, 0.15, (o, n))
    # Gemma4RMSNorm uses the weight itself; around 0.5 so that the residual stream stays within ~10 (with weights around 1
    # it reaches ~20, and fp32 rounding alone, amplified by the shared layers, moves it by ~4e-5 from this float64 port)
    norm = lambda n: rng.normal(0.5, 0.05, n)
    # q/k norms around 0.6: the scores are not scaled (scaling 1.0), and with q/k norms around 1 they reach ~head_dim, where
    # transformers' fp32 RoPE tables alone move the hidden states by 2e-4 from this float64 port (1.5e-5 at 0.6)
    qk_norm = lambda n: rng.normal(0.6, 0.06, n)
    w = {"model.embed_tokens.weight": rng.normal(0, 0.05, (v, h))}
    if P:
        w.update({"model.embed_tokens_per_layer.weight": rng.normal(0, 0.3, (c["vocab_size_per_layer_input"], L * P)),
                  "model.per_layer_model_projection.weight": rng.normal(0, 0.5, (L * P, h)),
                  "model.per_layer_projection_norm.weight": norm(P)})
    for l in range(L):
        p = f"model.layers.{l}."
        d = m.head_dim(l)
        kv = c["num_global_key_value_heads"] if m.k_eq_v(l) else c["num_key_value_heads"]
        a = p + "self_attn."
        w[a + "q_proj.weight"] = lin(heads * d, h)
        w[a + "q_norm.weight"] = qk_norm(d)
        if l not in m.source:
            w[a + "k_proj.weight"] = lin(kv * d, h)
            w[a + "k_norm.weight"] = qk_norm(d)
            if not m.k_eq_v(l):
                w[a + "v_proj.weight"] = lin(kv * d, h)
        w[a + "o_proj.weight"] = lin(h, heads * d)
        width = i * (2 if c.get("use_double_wide_mlp") and l in m.source else 1)
        w[p + "mlp.gate_proj.weight"] = lin(width, h)
        w[p + "mlp.up_proj.weight"] = lin(width, h)
        w[p + "mlp.down_proj.weight"] = lin(h, width)
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm") + \
                (("post_per_layer_input_norm",) if P else ()):
            w[p + n + ".weight"] = norm(h)
        if P:
            w[p + "per_layer_input_gate.weight"] = lin(P, h)
            w[p + "per_layer_projection.weight"] = lin(h, P)
        w[p + "layer_scalar"] = rng.uniform(0.5, 1.5, 1)
        if m.moe:
            E, width = c["num_experts"], c["moe_intermediate_size"]
            # the router's logits have a standard deviation of ~1 (its input is RMS-normalised times hidden^-0.5), so
            # that tokens prefer different experts and no top-2 choice is a near tie
            w[p + "router.proj.weight"] = rng.normal(0, 1.0, (E, h))
            w[p + "router.scale"] = rng.normal(1.0, 0.3, h)
            w[p + "router.per_expert_scale"] = rng.uniform(0.5, 1.5, E)
            w[p + "experts.gate_up_proj"] = rng.normal(0, 0.15, (E, 2 * width, h))
            w[p + "experts.down_proj"] = rng.normal(0, 0.15, (E, h, width))
            for n in ("pre_feedforward_layernorm_2", "post_feedforward_layernorm_1", "post_feedforward_layernorm_2"):
                w[p + n + ".weight"] = norm(h)
    w["model.norm.weight"] = norm(h)
    return {k: a.astype(np.float32) for k, a in w.items()}


def runner(config, w, **quirks):
    m = Gemma4(config, **quirks)
    return lambda ids: forward(m, w, ids)


# Each removes one quirk, as make_fixtures.quirk_references takes them: (config, w) → (the Gemma4 model it runs, the
# weights), and a description. The first three are config.json changes that QuantTune reads too; the last two are
# switches of the port. They run with numpy_gemma4's forward.
QUIRKS = {
    "without_per_layer_input": (lambda c, w: (Gemma4(dict(c, hidden_size_per_layer_input=0)), w), "hidden_size_per_layer_input 0: no per-layer embeddings, projections or gates"),
    "full_rotary_global": (lambda c, w: (Gemma4(dict(c, rope_parameters=dict(c["rope_parameters"], full_attention=dict(c["rope_parameters"]["full_attention"], partial_rotary_factor=1.0)))), w),
                           "proportional RoPE over every frequency pair of the global heads (partial_rotary_factor 1)"),
    "without_softcap": (lambda c, w: (Gemma4(dict(c, final_logit_softcapping=None)), w), "final_logit_softcapping null"),
    "without_layer_scalar": (lambda c, w: (Gemma4(c, layer_scalar=False), w), "layer_scalar ignored (1)"),
    "without_v_norm": (lambda c, w: (Gemma4(c, v_norm=False), w), "values not RMS-normalised (no v_norm)"),
}


# The mixture-of-experts block's quirks, each removed alone (as QUIRKS, for make_fixtures.quirk_references): the first a config.json change that QuantTune reads too, the
# next two weights QuantTune can set to 1, the rest switches of the port. The renormalisation of the top-k weights is no
# quirk that shows: it scales each token's routed output by one factor, which post_feedforward_layernorm_2 divides out
# again (the logits move by 2e-4 without it, through the norm's eps only).
MOE_QUIRKS = {
    "without_moe_block": (lambda c, w: (Gemma4(dict(c, enable_moe_block=False)), w), "enable_moe_block false: the dense MLP alone"),
    "without_router_scale": (lambda c, w: (Gemma4(c, router_scale=False), w), "router.scale ignored (1)"),
    "without_per_expert_scale": (lambda c, w: (Gemma4(c, per_expert_scale=False), w), "router.per_expert_scale ignored (1)"),
    "without_router_norm": (lambda c, w: (Gemma4(c, router_norm=False), w), "the router's input not RMS-normalised"),
    "without_moe_norms": (lambda c, w: (Gemma4(c, moe_norms=False), w), "no pre_feedforward_layernorm_2, post_feedforward_layernorm_1 or _2"),
}


def routing_gap(config, w, wiki, sequences):
    """For a model with experts: the smallest gap between the router's k-th and next probability over the test sequences,
    checked to be no near tie (fp32 against this float64 port would pick other experts there); {} for a dense model."""
    if not config.get("enable_moe_block"):
        return {}
    m = Gemma4(config)
    for begin, length in sequences:
        forward(m, w, wiki[begin:begin + length])
    print(f"smallest gap between the k-th and the next router probability: {m.min_routing_gap:.2e}")
    # (QuantTune's fp32 router probabilities lie within ~1e-6 of these; [1000:1064] has a near tie, 2e-6, in layer 0)
    assert m.min_routing_gap > 3e-5, m.min_routing_gap
    return {"min_routing_gap": {"of": "min over the test sequences' tokens and layers of p_k - p_(k+1), the router's k-th and next probability", "value": m.min_routing_gap}}
