"""tiny-gpt-oss for make_fixtures.py: gpt-oss (gpt_oss) with every quirk on, its weights (the experts as MXFP4 blocks
and scales, as the Hub's checkpoints hold them) and its quirk references, computed by numpy_gpt_oss.py.

Three layers, sliding (window 16, under the 64-token test sequences) / full / sliding (GptOssConfig's default
alternation); q/k/v/o biases; a sink logit per head; YaRN RoPE as gpt-oss-20b's (factor 32 over 4,096 original
positions, beta 32/1, truncate false, base 150,000; max_position_embeddings 131,072 = 32 × 4,096); 8 experts of
intermediate_size 64, 2 per token, router and experts with biases; the experts' weights large enough that the SwiGLU's
clamp (swiglu_limit 7) cuts many gate and up values; untied head; quantization_config mxfp4 as on the Hub."""
import numpy as np
from numpy_gpt_oss import GptOss, forward

COMPUTED_BY = ("tools/family-fixtures/numpy_gpt_oss.py (a NumPy port of transformers' modeling_gpt_oss.py at "
               "00d4b3d2142cb4ced2f51b90614b5d26bc045015, YaRN and MXFP4 dequantization included) in float64")


def config(common):
    c = {k: v for k, v in common.items() if k not in ("attention_bias",)}
    c.update(architectures=["GptOssForCausalLM"], model_type="gpt_oss", num_hidden_layers=3, intermediate_size=64,
             head_dim=32, rms_norm_eps=1e-5, attention_bias=True, max_position_embeddings=131072,
             tie_word_embeddings=False, hidden_act="silu", sliding_window=16,
             layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             num_local_experts=8, num_experts_per_tok=2, router_aux_loss_coef=0.9, output_router_logits=False,
             swiglu_alpha=1.702, swiglu_limit=7.0, attention_dropout=0.0,
             rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "beta_fast": 32.0,
                              "beta_slow": 1.0, "truncate": False, "original_max_position_embeddings": 4096},
             quantization_config={"quant_method": "mxfp4",
                                  "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                                             "model.embed_tokens", "lm_head"]})
    return c


def weights(c, rng):
    h, i, v, L = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    heads, kv, d, E = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["num_local_experts"]
    lin = lambda o, n: rng.normal(0, 0.15, (o, n))
    bias = lambda n: rng.normal(0, 0.1, n)
    norm = lambda n: rng.normal(1.0, 0.1, n)
    w = {"model.embed_tokens.weight": rng.normal(0, 1.0, (v, h))}
    for l in range(L):
        p = f"model.layers.{l}."
        a = p + "self_attn."
        for n, o in (("q_proj", heads * d), ("k_proj", kv * d), ("v_proj", kv * d)):
            w[a + n + ".weight"] = lin(o, h)
            w[a + n + ".bias"] = bias(o)
        w[a + "o_proj.weight"] = lin(h, heads * d)
        w[a + "o_proj.bias"] = bias(h)
        w[a + "sinks"] = rng.normal(1.0, 1.0, heads)
        w[p + "mlp.router.weight"] = rng.normal(0, 0.5, (E, h))
        w[p + "mlp.router.bias"] = rng.normal(0, 0.5, E)
        e = p + "mlp.experts."
        # MXFP4: random nibbles; exponents 2^-2..2^-1 for gate_up (gate values of several units, beyond the clamp of 7
        # for many tokens), 2^-8..2^-7 for down
        w[e + "gate_up_proj_blocks"] = rng.integers(0, 256, (E, 2 * i, h // 32, 16), dtype=np.uint8)
        w[e + "gate_up_proj_scales"] = rng.integers(125, 127, (E, 2 * i, h // 32), dtype=np.uint8)
        w[e + "gate_up_proj_bias"] = rng.normal(0, 0.5, (E, 2 * i))
        w[e + "down_proj_blocks"] = rng.integers(0, 256, (E, h, i // 32, 16), dtype=np.uint8)
        w[e + "down_proj_scales"] = rng.integers(119, 121, (E, h, i // 32), dtype=np.uint8)
        w[e + "down_proj_bias"] = rng.normal(0, 0.1, (E, h))
        w[p + "input_layernorm.weight"] = norm(h)
        w[p + "post_attention_layernorm.weight"] = norm(h)
    w["model.norm.weight"] = norm(h)
    w["lm_head.weight"] = lin(v, h)
    return {k: a if a.dtype == np.uint8 else a.astype(np.float32) for k, a in w.items()}


def runner(config, w, **quirks):
    m = GptOss(config, **quirks)
    return lambda ids: forward(m, w, ids)


# Each removes one quirk (a switch of the port): the key, the switch, a description.
QUIRKS = {
    "without_sinks": ({"sinks": False}, "GptOssAttention without the sink column (a plain softmax over the keys)"),
    "without_clamp": ({"clamp": False}, "the experts' SwiGLU without clamping gate (max swiglu_limit) and up (±swiglu_limit)"),
    "without_sliding_window": ({"sliding": False}, "every layer full attention (the sliding_attention layers' 16-token window ignored)"),
    "without_yarn": ({"yarn_rope": False}, "default RoPE of base 150,000 (no YaRN frequencies, no attention factor)"),
    "gate_up_halves": ({"interleaved": False}, "gate and up read as the first and second halves of gate_up instead of its even and odd columns"),
}


def quirk_references(config, w, wiki, ref, sequences, positions):
    base = ref["logits.0"][:positions].astype(np.float64)
    ids = wiki[sequences[0][0]:sequences[0][0] + sequences[0][1]]
    names, moved, meaning = {"positions": positions}, {}, {}
    for key, (switch, description) in QUIRKS.items():
        logits, _ = forward(GptOss(config, **switch), w, ids)
        # the sliding window first matters past 16 positions: this quirk keeps the last positions of the sequence
        kept = logits[-positions:] if key == "without_sliding_window" else logits[:positions]
        ref[f"logits.0.{key}"] = kept.astype(np.float32)
        names[key] = f"logits.0.{key}"
        base_kept = ref["logits.0"][-positions:].astype(np.float64) if key == "without_sliding_window" else base
        moved[key] = float(np.abs(kept - base_kept).max())
        meaning[key] = description
        print(f"quirk {key}: the logits move by {moved[key]:.4f}")
    return {"quirk_logits": names,
            "quirk_positions": {"first": "logits.0.<quirk> hold the first `positions` positions of sequence 0",
                                "except": {"without_sliding_window": "the last `positions` positions"}},
            "quirk_max_abs_change": {"of": "max |logits.0[kept positions] - logits.0.<quirk>| in float64", **moved},
            "quirk_meaning": meaning}
