"""Builds the tiny random-weight family fixtures tests/fixtures/tiny-<family>/ (config.json with
the family's quirks switched on, model.safetensors in fp32, tiny-qwen2's tokenizer) and their
reference outputs (reference.safetensors, reference.json) from numpy_forward.py and numpy_qwen3_5.py,
independent NumPy ports of transformers' modeling code.

Run from the repository root:
  (cd tools/family-fixtures && npm install --no-save tokenizers@0.23.2)
  node tools/family-fixtures/tokenize.js tests/fixtures/tiny-qwen2/tokenizer.json assets/data/wikitext-2/wiki.test.raw /tmp/wiki-ids.json
  /usr/bin/python3 tools/family-fixtures/make_fixtures.py /tmp/wiki-ids.json [FIXTURE ...]

With fixture names (e.g. tiny-qwen3.5) only those folders are written. Name them: the committed tiny-qwen3,
tiny-gemma2 and tiny-gemma3 come from an earlier state of this script and are not reproduced byte for byte by it (their
weights differ), and the other families' reference.json differ in the last digits of some floats.
"""
import json, os, shutil, struct, sys
import numpy as np
from numpy_forward import Family, forward, load_balancing_loss
from numpy_qwen3_5 import Qwen35, forward as qwen3_5_forward, chunk_gated_delta_rule
import gemma4_fixture
import gpt_oss_fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
COMMON = {"vocab_size": 4096, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
          "num_key_value_heads": 2, "head_dim": 32, "rms_norm_eps": 1e-6, "max_position_embeddings": 1024,
          "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None, "attention_bias": False,
          "dtype": "float32", "initializer_range": 0.02}

CONFIGS = {
    # Qwen3: q/k norms, head_dim 32 != 64/4, untied head, rope_theta 1e6.
    "tiny-qwen3": dict(COMMON, architectures=["Qwen3ForCausalLM"], model_type="qwen3", num_hidden_layers=2,
                       hidden_act="silu", tie_word_embeddings=False, use_sliding_window=False, sliding_window=None,
                       rope_parameters={"rope_theta": 1000000.0, "rope_type": "default"}),
    # Gemma 3: q/k norms, a 16-token window on layers 0-1 (layer_types), layer 2 global with linear-scaled RoPE
    # of base 1e6, the sliding layers base 1e4, query_pre_attn_scalar 24 != head_dim, tied head.
    "tiny-gemma3": dict(COMMON, architectures=["Gemma3ForCausalLM"], model_type="gemma3_text", num_hidden_layers=3,
                        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, query_pre_attn_scalar=24,
                        sliding_window=16, layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                        attn_logit_softcapping=None, final_logit_softcapping=None,
                        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
                                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}),
    # Gemma 2: no q/k norms, sliding window 16 on even layers (the default alternation), attention and
    # final logit soft-caps small enough to bend these random weights' scores, tied head.
    "tiny-gemma2": dict(COMMON, architectures=["Gemma2ForCausalLM"], model_type="gemma2", num_hidden_layers=3,
                        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, query_pre_attn_scalar=32,
                        sliding_window=16, attn_logit_softcapping=1.0, final_logit_softcapping=1.5,
                        rope_theta=10000.0),
    # Phi-4-mini's quirks: fused qkv_proj and gate_up_proj, RoPE on half of each head (partial_rotary_factor),
    # LongRoPE whose original context (48) lies inside the 64-token test sequences (long factors there, short ones
    # for the greedy run), tied head. No sliding window: Phi-4's configs have none, and llama.cpp's phi3 ignores it.
    "tiny-phi3": dict(COMMON, architectures=["Phi3ForCausalLM"], model_type="phi3", num_hidden_layers=2, hidden_size=128,
                      hidden_act="silu", tie_word_embeddings=True, rms_norm_eps=1e-5, partial_rotary_factor=0.5,
                      original_max_position_embeddings=48, sliding_window=None, rope_theta=10000.0,
                      rope_scaling={"type": "longrope",
                                    "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.6, 3.3, 4.0],
                                    "long_factor": [1.0, 1.5, 2.4, 3.9, 6.0, 9.5, 14.0, 20.0]}),
    # GPT-2: LayerNorms with biases, learned positions (n_positions 256, the perplexity window), fused c_attn,
    # biases everywhere, Conv1D weights stored [in, out], gelu_new, tied head; GPT2Config's own keys.
    "tiny-gpt2": {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 4096, "n_embd": 128, "n_layer": 2,
                  "n_head": 4, "n_positions": 256, "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
                  "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": True, "scale_attn_weights": True,
                  "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
                  "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": 0.02, "dtype": "float32"},
    # Qwen3-MoE: Qwen3's attention; 8 experts of width 32, top-2 renormalised (norm_topk_prob), layer 1 dense
    # (mlp_only_layers) with intermediate_size 128, layers 0 and 2 sparse; tied head to keep the files small.
    "tiny-qwen3-moe": dict(COMMON, architectures=["Qwen3MoeForCausalLM"], model_type="qwen3_moe", num_hidden_layers=3,
                           hidden_act="silu", tie_word_embeddings=True, use_sliding_window=False, sliding_window=None,
                           num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, norm_topk_prob=True,
                           decoder_sparse_step=1, mlp_only_layers=[1], router_aux_loss_coef=0.001, output_router_logits=False,
                           rope_parameters={"rope_theta": 1000000.0, "rope_type": "default"}),
    # Qwen3.5 (text): three Gated DeltaNet layers around one full-attention layer, the last layer a linear one; value
    # heads (4) grouped over key heads (2); q_proj with a per-head output gate; RoPE on a quarter of each head with the
    # multimodal sections (reducing to plain RoPE for text); Qwen3_5RMSNorm's (1 + w); untied head.
    "tiny-qwen3.5": dict(COMMON, architectures=["Qwen3_5ForCausalLM"], model_type="qwen3_5_text", num_hidden_layers=4,
                         layer_types=["linear_attention", "full_attention", "linear_attention", "linear_attention"],
                         hidden_act="silu", tie_word_embeddings=False, attn_output_gate=True, linear_conv_kernel_dim=4,
                         linear_key_head_dim=16, linear_value_head_dim=24, linear_num_key_heads=2,
                         linear_num_value_heads=4, full_attention_interval=4,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000000, "partial_rotary_factor": 0.25,
                                          "mrope_section": [2, 1, 1], "mrope_interleaved": True}),
    # OLMo 2: the norms after attention and after the MLP (none before), q_norm / k_norm over the whole q and k
    # projections ([heads * head_dim], [kv_heads * head_dim]); hidden 128 so that head_dim 32 = hidden / heads, as
    # Olmo2Config has no head_dim key of its own; rms_norm_eps 1e-5 (Olmo2Config's); tied head to keep the files small.
    "tiny-olmo2": dict(COMMON, architectures=["Olmo2ForCausalLM"], model_type="olmo2", num_hidden_layers=3, hidden_size=128,
                       hidden_act="silu", tie_word_embeddings=True, rms_norm_eps=1e-5,
                       rope_parameters={"rope_theta": 500000.0, "rope_type": "default"}),
    # SmolLM3: no RoPE in layers 1 and 3 (no_rope_layers 0 there; SmolLM3-3B has every fourth), no sliding window,
    # hidden 128 so that head_dim 32 = hidden / heads (LlamaAttention's default), tied head.
    "tiny-smollm3": dict(COMMON, architectures=["SmolLM3ForCausalLM"], model_type="smollm3", num_hidden_layers=4, hidden_size=128,
                         hidden_act="silu", tie_word_embeddings=True, mlp_bias=False, no_rope_layers=[1, 0, 1, 0],
                         no_rope_layer_interval=4, use_sliding_window=False, sliding_window=None,
                         rope_parameters={"rope_theta": 5000000.0, "rope_type": "default"}),
}
# Qwen3.5 as llama.cpp's qwen35 can hold it: its graph and loader take the value head size to be the key head size
# (ssm.state_size), so this variant has key and value heads of 16; everything else is tiny-qwen3.5's.
CONFIGS["tiny-qwen3.5-gguf"] = dict(CONFIGS["tiny-qwen3.5"], linear_value_head_dim=16)
# Granite: Llama's decoder with the four multipliers far from 1 (embedding 12, residual 0.22, attention 1/64 where
# head_dim^-0.5 would be 0.177, logits / 8), head_dim 32 = hidden / heads as GraniteAttention requires, tied head.
# Listed after the others so that their seeds (1000 + position) stay as they were; so is tiny-stablelm.
CONFIGS["tiny-granite"] = dict(COMMON, architectures=["GraniteForCausalLM"], model_type="granite", num_hidden_layers=3, hidden_size=128,
                               hidden_act="silu", tie_word_embeddings=True, rms_norm_eps=1e-5, mlp_bias=False,
                               embedding_multiplier=12.0, residual_multiplier=0.22, attention_multiplier=0.015625, logits_scaling=8.0,
                               rope_theta=10000.0)
# StableLM (StableLM-2-1.6B's options): LayerNorms with biases (layer_norm_eps), RoPE on a quarter of each head
# (partial_rotary_factor 0.25: 8 of 32 dimensions), q/k/v biases (use_qkv_bias), no head_dim key (hidden / heads),
# grouped keys, tied head to keep the files small.
CONFIGS["tiny-stablelm"] = dict({k: v for k, v in COMMON.items() if k not in ("head_dim", "rms_norm_eps", "attention_bias")},
                                architectures=["StableLmForCausalLM"], model_type="stablelm", num_hidden_layers=2, hidden_size=128,
                                hidden_act="silu", tie_word_embeddings=True, layer_norm_eps=1e-5, partial_rotary_factor=0.25,
                                use_qkv_bias=True, qk_layernorm=False, use_parallel_residual=False, rope_theta=10000.0)
# Qwen2-MoE: Qwen2's q/k/v biases; 8 experts of width 32 routed top-2 without renormalisation (norm_topk_prob false, as
# Qwen1.5-MoE-A2.7B), a shared expert of width 64 behind its sigmoid gate, layer 1 dense (mlp_only_layers) with
# intermediate_size 128; 2 heads and 1 key-value head so that head_dim 32 = hidden / heads (Qwen2MoeAttention's); tied head.
CONFIGS["tiny-qwen2-moe"] = dict(COMMON, architectures=["Qwen2MoeForCausalLM"], model_type="qwen2_moe", num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=1,
                                 hidden_act="silu", tie_word_embeddings=True, use_sliding_window=False, sliding_window=None, qkv_bias=True,
                                 num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=64,
                                 norm_topk_prob=False, decoder_sparse_step=1, mlp_only_layers=[1], router_aux_loss_coef=0.001,
                                 output_router_logits=False, rope_theta=1000000.0)
# Mixtral: Mistral's attention with a 16-token sliding window on every layer (MixtralModel's mask whenever sliding_window
# is set), block_sparse_moe on every layer: 8 experts (num_local_experts) of intermediate_size 32 named w1 (gate), w3 (up),
# w2 (down), top-2 always renormalised; tied head to keep the files small.
CONFIGS["tiny-mixtral"] = dict(COMMON, architectures=["MixtralForCausalLM"], model_type="mixtral", num_hidden_layers=2,
                               intermediate_size=32, hidden_act="silu", tie_word_embeddings=True, sliding_window=16,
                               num_local_experts=8, num_experts_per_tok=2, router_aux_loss_coef=0.02, output_router_logits=False,
                               rope_theta=1000000.0)
# SmolLM3 as llama.cpp's smollm3 can hold it: its graph leaves RoPE out of every fourth layer and has no key for another
# list, so this variant leaves it out of layer 3 only (SmolLM3-3B's pattern); the rest of its config is tiny-smollm3's
# (its weights come from its own seed, SEED_POSITIONS below: it was written when it followed tiny-stablelm).
CONFIGS["tiny-smollm3-gguf"] = dict(CONFIGS["tiny-smollm3"], no_rope_layers=[1, 1, 1, 0])
# Qwen3-MoE as llama.cpp's qwen3moe can hold it: its loader requires the router and experts in every layer and has no
# dense MLP, so this variant has no mlp_only_layers (all three layers sparse); the rest of its config is tiny-qwen3-moe's.
CONFIGS["tiny-qwen3-moe-gguf"] = dict(CONFIGS["tiny-qwen3-moe"], mlp_only_layers=[])
# Qwen2-MoE as llama.cpp's qwen2moe can hold it: every layer sparse, as its loader requires, and the rest tiny-qwen2-moe's.
CONFIGS["tiny-qwen2-moe-gguf"] = dict(CONFIGS["tiny-qwen2-moe"], mlp_only_layers=[])
# Seeds are 1000 + a fixture's position in CONFIGS, except where a fixture was first written at another position
# (tiny-granite and tiny-stablelm were written before tiny-olmo2 and tiny-smollm3 came in ahead of them).
SEED_POSITIONS = {"tiny-granite": 8, "tiny-stablelm": 9, "tiny-smollm3-gguf": 12, "tiny-gemma4": 12, "tiny-gpt-oss": 18, "tiny-gemma4-moe": 18}
# Gemma 4 (text): every dense quirk on, see gemma4_fixture.py.
CONFIGS["tiny-gemma4"] = gemma4_fixture.config(COMMON)
# Mixtral as llama.cpp's llama can hold it: its graph has no sliding window (the converter writes none for Mixtral), so this
# variant has sliding_window null, as Mixtral-8x7B's and 8x22B's configs do; the rest of its config is tiny-mixtral's.
CONFIGS["tiny-mixtral-gguf"] = dict(CONFIGS["tiny-mixtral"], sliding_window=None)
# Gemma 4's mixture-of-experts variant (enable_moe_block, as gemma-4-26B-A4B), see gemma4_fixture.py.
CONFIGS["tiny-gemma4-moe"] = gemma4_fixture.moe_config(COMMON)

# The test sequences (start, length) of wiki.test.raw; Qwen3.5's third one spans two chunks of the chunked delta rule.
SEQUENCES = {"tiny-qwen3.5": ((0, 64), (1000, 64), (2000, 100)), "tiny-qwen3.5-gguf": ((0, 64), (1000, 64), (2000, 100)),
             "tiny-gemma4": ((0, 64), (1000, 64), (2000, 100)), "tiny-gemma4-moe": ((0, 64), (2000, 48))}
DEFAULT_SEQUENCES = ((0, 64), (1000, 64))
# gpt-oss: sinks, sliding / full layers, YaRN, MXFP4 experts; see gpt_oss_fixture.py.
CONFIGS["tiny-gpt-oss"] = gpt_oss_fixture.config(COMMON)


def gpt2_weights(c, rng):
    h, v, n = c["n_embd"], c["vocab_size"], c["n_positions"]
    i = c["n_inner"] or 4 * h
    conv = lambda fan_in, fan_out: rng.normal(0, 0.08, (fan_in, fan_out))  # Conv1D: weight [in, out]
    vec = lambda size, mean=0.0: rng.normal(mean, 0.1, size)
    w = {"transformer.wte.weight": rng.normal(0, 0.1, (v, h)), "transformer.wpe.weight": rng.normal(0, 0.1, (n, h))}
    for l in range(c["n_layer"]):
        p = f"transformer.h.{l}."
        for name, fan_in, fan_out in (("attn.c_attn", h, 3 * h), ("attn.c_proj", h, h), ("mlp.c_fc", h, i), ("mlp.c_proj", i, h)):
            w[p + name + ".weight"] = conv(fan_in, fan_out)
            w[p + name + ".bias"] = vec(fan_out)
        for name in ("ln_1", "ln_2"):
            w[p + name + ".weight"] = vec(h, 1.0)
            w[p + name + ".bias"] = vec(h)
    w["transformer.ln_f.weight"] = vec(h, 1.0)
    w["transformer.ln_f.bias"] = vec(h)
    return {k: a.astype(np.float32) for k, a in w.items()}


def qwen3_5_weights(c, rng):
    """Qwen3.5's checkpoint names and shapes, with values chosen so that every quirk bites: Qwen3_5RMSNorm weights around
    0 (the model uses 1 + w), dt_bias around 1, a conv1d large enough to mix neighbouring tokens, gated-norm weights
    around 1 (that norm uses w itself). A = exp(A_log) spans Qwen3_5PreTrainedModel._init_weights' range [0.01, 16] but
    log-uniformly: its uniform draw makes nearly every head forget within a few tokens (decay exp(-1.3 A) per token),
    so that the state carried from one 64-token chunk to the next would move the logits by only ~1e-6; here some heads
    remember tens of tokens."""
    h, i, d, v = c["hidden_size"], c["intermediate_size"], c["head_dim"], c["vocab_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    nk, nv = c["linear_num_key_heads"], c["linear_num_value_heads"]
    key_dim, value_dim = nk * c["linear_key_head_dim"], nv * c["linear_value_head_dim"]
    conv_dim = 2 * key_dim + value_dim
    lin = lambda o, n: rng.normal(0, 0.08, (o, n))
    norm = lambda n: rng.normal(0, 0.1, n)
    w = {"model.embed_tokens.weight": rng.normal(0, 0.32, (v, h))}
    for l, kind in enumerate(c["layer_types"]):
        p = f"model.layers.{l}."
        if kind == "linear_attention":
            a = p + "linear_attn."
            w[a + "in_proj_qkv.weight"] = lin(conv_dim, h)
            w[a + "in_proj_z.weight"] = lin(value_dim, h)
            w[a + "in_proj_b.weight"] = lin(nv, h)
            w[a + "in_proj_a.weight"] = lin(nv, h)
            w[a + "conv1d.weight"] = rng.normal(0, 0.3, (conv_dim, 1, c["linear_conv_kernel_dim"]))
            w[a + "dt_bias"] = rng.normal(1.0, 0.3, nv)
            w[a + "A_log"] = rng.uniform(np.log(0.01), np.log(16), nv)
            w[a + "norm.weight"] = rng.normal(1.0, 0.1, c["linear_value_head_dim"])
            w[a + "out_proj.weight"] = lin(h, value_dim)
        else:
            a = p + "self_attn."
            w[a + "q_proj.weight"] = lin(heads * d * 2, h)
            w[a + "k_proj.weight"] = lin(kv * d, h)
            w[a + "v_proj.weight"] = lin(kv * d, h)
            w[a + "o_proj.weight"] = lin(h, heads * d)
            w[a + "q_norm.weight"] = norm(d)
            w[a + "k_norm.weight"] = norm(d)
        w[p + "mlp.gate_proj.weight"] = lin(i, h)
        w[p + "mlp.up_proj.weight"] = lin(i, h)
        w[p + "mlp.down_proj.weight"] = lin(h, i)
        w[p + "input_layernorm.weight"] = norm(h)
        w[p + "post_attention_layernorm.weight"] = norm(h)
    w["model.norm.weight"] = norm(h)
    w["lm_head.weight"] = lin(v, h)
    return {k: a.astype(np.float32) for k, a in w.items()}


def weights(c, seed):
    rng = np.random.default_rng(seed)
    if c["model_type"] == "gpt2":
        return gpt2_weights(c, rng)
    if c["model_type"] == "qwen3_5_text":
        return qwen3_5_weights(c, rng)
    if c["model_type"] == "gemma4_text":
        return gemma4_fixture.weights(c, rng)
    if c["model_type"] == "gpt_oss":
        return gpt_oss_fixture.weights(c, rng)
    gemma = c["model_type"].startswith("gemma")
    h, i, d, v = c["hidden_size"], c["intermediate_size"], c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"], c["vocab_size"]
    stablelm = c["model_type"] == "stablelm"
    qd, kvd = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    granite = c["model_type"] == "granite"
    # Gemma: larger projections so the layers, not the scaled embedding, drive the tied head; Granite: larger still, as
    # residual_multiplier shrinks every block's output and embedding_multiplier grows the embedding, but o_proj and
    # down_proj a quarter of that, so that the residual stream stays within ~30 (fp32 sums stay well inside 1e-4)
    std = 0.15 if gemma else 0.45 if granite else 0.08
    lin = lambda o, n: rng.normal(0, std, (o, n))
    out = (lambda o, n: rng.normal(0, std / 4, (o, n))) if granite else lin
    norm = lambda n: rng.normal(0, 0.1, n) + (0.0 if gemma else 1.0)  # Gemma stores w of x*(1+w)
    # tied heads (Gemma, Phi-3) get a small embedding so that the logits stay in a range where greedy ids vary
    emb_std = 0.05 if gemma else 0.15 if granite else 0.1 if c["tie_word_embeddings"] else std * 4
    w = {"model.embed_tokens.weight": rng.normal(0, emb_std, (v, h))}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        if c["model_type"] == "phi3":
            w[p + "self_attn.qkv_proj.weight"] = lin(qd + 2 * kvd, h)
            w[p + "mlp.gate_up_proj.weight"] = lin(2 * i, h)
        elif Family(c).sparse[l]:
            f = Family(c)
            w[p + "self_attn.q_proj.weight"] = lin(qd, h)
            w[p + "self_attn.k_proj.weight"] = lin(kvd, h)
            w[p + "self_attn.v_proj.weight"] = lin(kvd, h)
            # the router wide enough that tokens prefer different experts; the experts' names as in the Hub checkpoints
            w[p + f.moe_module + "gate.weight"] = rng.normal(0, 0.5, (f.num_experts, h))
            m = c.get("moe_intermediate_size") or c["intermediate_size"]  # Mixtral's experts have intermediate_size
            gate, up, down = f.expert_names
            for e in range(f.num_experts):
                w[p + f.moe_module + f"experts.{e}.{gate}.weight"] = lin(m, h)
                w[p + f.moe_module + f"experts.{e}.{up}.weight"] = lin(m, h)
                w[p + f.moe_module + f"experts.{e}.{down}.weight"] = lin(h, m)
            if c["model_type"] == "qwen2_moe":  # the shared expert, and its gate wide enough that sigmoid varies per token
                s = c["shared_expert_intermediate_size"]
                w[p + "mlp.shared_expert.gate_proj.weight"] = lin(s, h)
                w[p + "mlp.shared_expert.up_proj.weight"] = lin(s, h)
                w[p + "mlp.shared_expert.down_proj.weight"] = lin(h, s)
                w[p + "mlp.shared_expert_gate.weight"] = rng.normal(0, 0.5, (1, h))
        else:
            w[p + "self_attn.q_proj.weight"] = lin(qd, h)
            w[p + "self_attn.k_proj.weight"] = lin(kvd, h)
            w[p + "self_attn.v_proj.weight"] = lin(kvd, h)
            w[p + "mlp.gate_proj.weight"] = lin(i, h)
            w[p + "mlp.up_proj.weight"] = lin(i, h)
        w[p + "self_attn.o_proj.weight"] = out(h, qd)
        if p + "mlp.gate.weight" not in w and p + "block_sparse_moe.gate.weight" not in w:
            w[p + "mlp.down_proj.weight"] = out(h, i)
        if c["model_type"] == "qwen2_moe":  # Qwen2MoeAttention: q/k/v biases
            w[p + "self_attn.q_proj.bias"] = rng.normal(0, 0.1, qd)
            w[p + "self_attn.k_proj.bias"] = rng.normal(0, 0.1, kvd)
            w[p + "self_attn.v_proj.bias"] = rng.normal(0, 0.1, kvd)
        if c["model_type"] != "olmo2":  # Olmo2DecoderLayer has no input norm
            w[p + "input_layernorm.weight"] = norm(h)
        w[p + "post_attention_layernorm.weight"] = norm(h)
        if gemma:
            w[p + "pre_feedforward_layernorm.weight"] = norm(h)
        if gemma or c["model_type"] == "olmo2":
            w[p + "post_feedforward_layernorm.weight"] = norm(h)
        if c["model_type"] in ("qwen3", "qwen3_moe", "gemma3_text"):
            w[p + "self_attn.q_norm.weight"] = norm(d)
            w[p + "self_attn.k_norm.weight"] = norm(d)
        if c["model_type"] == "olmo2":  # Olmo2Attention: norms over the whole projections
            w[p + "self_attn.q_norm.weight"] = norm(qd)
            w[p + "self_attn.k_norm.weight"] = norm(kvd)
        if stablelm:  # LayerNorm biases; q/k/v biases under use_qkv_bias
            w[p + "input_layernorm.bias"] = rng.normal(0, 0.1, h)
            w[p + "post_attention_layernorm.bias"] = rng.normal(0, 0.1, h)
            if c.get("use_qkv_bias"):
                w[p + "self_attn.q_proj.bias"] = rng.normal(0, 0.1, qd)
                w[p + "self_attn.k_proj.bias"] = rng.normal(0, 0.1, kvd)
                w[p + "self_attn.v_proj.bias"] = rng.normal(0, 0.1, kvd)
    w["model.norm.weight"] = norm(h)
    if stablelm:
        w["model.norm.bias"] = rng.normal(0, 0.1, h)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(v, h)
    # stored as fp32: the reference runs on exactly these values
    return {k: a.astype(np.float32) for k, a in w.items()}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.uint8): "U8"}[a.dtype]
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


# The perplexity runs on the first tokens of WikiText-2 test only (32 windows), so that the test is fast.
PERPLEXITY_TOKENS = 8193
# Fixtures whose forward is slower (gpt-oss: explicit sink attention, experts) keep fewer: 4 windows; fixtures added
# when the suite's time ran short keep 8 windows.
PERPLEXITY_TOKENS_OF = {"tiny-gpt-oss": 1025, "tiny-gemma4-moe": 2049}


def runner(config, w, **quirks):
    """The reference forward of a fixture's family: ids → (logits, hidden states)."""
    if config["model_type"] == "qwen3_5_text":
        m = Qwen35(config, **quirks)
        return lambda ids: qwen3_5_forward(m, w, ids)
    if config["model_type"] == "gemma4_text":
        return gemma4_fixture.runner(config, w, **quirks)
    if config["model_type"] == "gpt_oss":
        return gpt_oss_fixture.runner(config, w, **quirks)
    f = Family(config)
    return lambda ids: forward(f, w, ids)


def perplexity(run, ids, window=256):
    nll, count = 0.0, 0
    for start in range(0, len(ids) - 1, window):
        length = min(window, len(ids) - 1 - start)
        logits, _ = run(ids[start:start + length])
        targets = ids[start + 1:start + 1 + length]
        nll -= log_softmax(logits)[np.arange(length), targets].sum()
        count += length
    return float(np.exp(nll / count)), count


def greedy(run, prompt, steps):
    ids = list(prompt)
    for _ in range(steps):
        logits, _ = run(np.array(ids))
        ids.append(int(np.argmax(logits[-1])))
    return ids


# The quirk variants keep the logits of the first QUIRK_POSITIONS positions of sequence 0 only (small files).
QUIRK_POSITIONS = 8


def moe_references(config, w, wiki, ref):
    """Qwen3-MoE's extra references: the logits with one MoE quirk removed (norm_topk_prob off; top-1 routing),
    and load_balancing_loss_func on the router logits of sequence 0 alone and of sequences 0 and 1 as one batch
    whose second row ends in PADDING positions of padding (attention mask 0)."""
    ids = wiki[0:64]
    for key, change in (("without_norm_topk_prob", {"norm_topk_prob": False}), ("top1", {"num_experts_per_tok": 1})):
        logits, _ = forward(Family(dict(config, **change)), w, ids)
        ref[f"logits.0.{key}"] = logits[:QUIRK_POSITIONS].astype(np.float32)
    f = Family(config)
    single, batch = [], [[], []]
    forward(f, w, ids, single)
    for row, begin in enumerate((0, 1000)):
        forward(f, w, wiki[begin:begin + 64], batch[row])
    padding = 16
    mask = np.ones((2, 64))
    mask[1, 64 - padding:] = 0
    # the batch's router logits per layer: [B*T, experts], row-major over (batch, position) as transformers flattens them
    layers = [np.concatenate([batch[0][l], batch[1][l]], axis=0) for l in range(len(single))]
    unmasked = load_balancing_loss(single, f.num_experts, f.top_k)
    masked = load_balancing_loss(layers, f.num_experts, f.top_k, mask)
    print(f"load-balancing loss: {unmasked:.6f} (sequence 0), {masked:.6f} (both, {padding} padding positions)")
    return {"router_aux_loss": {
        "function": "load_balancing_loss_func(router_logits of every sparse layer, num_experts, num_experts_per_tok, attention_mask), unscaled",
        "sequence_0": unmasked,
        "batch": {"rows": "input_ids.0 and input_ids.1", "padding": padding, "attention_mask": "1 but for the last `padding` positions of row 1", "value": masked},
    }, "quirk_logits": {"positions": QUIRK_POSITIONS, "without_norm_topk_prob": "logits.0.without_norm_topk_prob", "top1": "logits.0.top1"}}


# Qwen3.5's quirks, each removed alone: the Qwen35 switch of numpy_qwen3_5.py that removes it.
QWEN3_5_QUIRKS = {
    "without_output_gate": ({"output_gate": False}, "Qwen3_5Attention without attn_output * sigmoid(gate)"),
    "norm_without_one_plus": ({"norm_one_plus": False}, "Qwen3_5RMSNorm as weight * x_hat instead of (1 + weight) * x_hat"),
    "without_conv1d": ({"conv1d": False}, "Qwen3_5GatedDeltaNet without the causal conv1d (silu of in_proj_qkv directly)"),
    "without_qk_l2norm": ({"qk_l2norm": False}, "the delta rule with use_qk_l2norm_in_kernel False"),
    "value_heads_tiled": ({"head_grouping": "tile"}, "q/k heads repeated with tile instead of repeat_interleave to the value heads"),
    "full_rotary": ({"partial_rotary_factor": 1.0}, "RoPE over the whole head_dim (partial_rotary_factor 1)"),
}

# The chunked delta rule must reproduce the recurrent one (float64) to this.
CHUNK_TOLERANCE = 1e-9


def qwen3_5_references(config, w, wiki, ref, sequences):
    """Qwen3.5's extra references: the check that torch_chunk_gated_delta_rule's port agrees with the recurrent one
    (every linear layer's delta-rule output and the logits, each test sequence), and the logits of sequence 0 with one
    quirk removed."""
    m = Qwen35(config)
    agreement = []
    for s, (begin, length) in enumerate(sequences):
        ids = wiki[begin:begin + length]
        recurrent, chunked = [], []
        logits_r, _ = qwen3_5_forward(m, w, ids, trace=recurrent)
        logits_c, _ = qwen3_5_forward(m, w, ids, rule=chunk_gated_delta_rule, trace=chunked)
        core = max(float(np.abs(a - b).max()) for a, b in zip(recurrent, chunked))
        logits = float(np.abs(logits_r - logits_c).max())
        print(f"sequence {s} ({length} tokens): chunked vs recurrent delta rule max |diff| {core:.3e} (core), {logits:.3e} (logits)")
        assert core < CHUNK_TOLERANCE and logits < CHUNK_TOLERANCE, (core, logits)
        agreement.append({"sequence": s, "tokens": length, "delta_rule_output": core, "logits": logits})
    base = ref["logits.0"][:QUIRK_POSITIONS].astype(np.float64)
    ids = wiki[sequences[0][0]:sequences[0][0] + sequences[0][1]]
    names, moved, meaning = {"positions": QUIRK_POSITIONS}, {}, {}
    for key, (switch, description) in QWEN3_5_QUIRKS.items():
        logits, _ = qwen3_5_forward(Qwen35(config, **switch), w, ids)
        ref[f"logits.0.{key}"] = logits[:QUIRK_POSITIONS].astype(np.float32)
        names[key] = f"logits.0.{key}"
        moved[key] = float(np.abs(logits[:QUIRK_POSITIONS] - base).max())
        meaning[key] = description
        print(f"quirk {key}: the logits move by {moved[key]:.4f}")
    return {"quirk_logits": names,
            "quirk_max_abs_change": {"of": "max |logits.0[:positions] - logits.0.<quirk>| in float64", **moved},
            "quirk_meaning": meaning,
            "chunked_delta_rule_check": {
                "what": "max |difference| between the ports of torch_chunk_gated_delta_rule (chunk 64, padded) and torch_recurrent_gated_delta_rule, float64; the references use the recurrent one",
                "tolerance": CHUNK_TOLERANCE, "sequences": agreement}}


def family_switch(**switch):
    """The change that runs the family with a switch of numpy_forward.py's Family set (the weights as they are)."""
    return lambda c, w: (Family(c, **switch), w)


# OLMo 2's and SmolLM3's quirks, each removed alone: the Family switch of numpy_forward.py that removes it.
FAMILY_QUIRKS = {
    "olmo2": {
        "pre_norm": (family_switch(post_norm=False), "the two norms before attention and the MLP (Llama's pre-norm) instead of after them"),
        "per_head_qk_norm": (family_switch(whole_qk_norm=False), "q_norm / k_norm over each head (the weights split per head) instead of over the whole projections"),
    },
    "smollm3": {
        "rope_everywhere": (family_switch(no_rope=False), "RoPE in every layer, the no_rope_layers 0 ignored"),
    },
}


# Granite's multipliers, each removed alone (set to what Llama does in its place).
GRANITE_QUIRKS = {
    "without_embedding_multiplier": (lambda c: {"embedding_multiplier": 1.0}, "GraniteModel without inputs_embeds * embedding_multiplier"),
    "without_residual_multiplier": (lambda c: {"residual_multiplier": 1.0}, "GraniteDecoderLayer adding attention and MLP outputs unscaled"),
    "head_dim_attention_scale": (lambda c: {"attention_multiplier": (c["hidden_size"] // c["num_attention_heads"]) ** -0.5},
                                 "GraniteAttention scaled by head_dim^-0.5 instead of attention_multiplier"),
    "without_logits_scaling": (lambda c: {"logits_scaling": 1.0}, "GraniteForCausalLM without logits / logits_scaling"),
}
GRANITE_QUIRKS = {k: ((lambda change: lambda c, w: (Family(dict(c, **change(c))), w))(change), meaning) for k, (change, meaning) in GRANITE_QUIRKS.items()}


def stablelm_rms(config):
    f = Family(config)
    f.layer_norm_rms = True
    return f


# StableLM's quirks, each removed alone: (the family, the weights) it runs with.
STABLELM_QUIRKS = {
    "full_rotary": (lambda c, w: (Family(dict(c, partial_rotary_factor=1.0)), w), "RoPE over the whole head (partial_rotary_factor 1)"),
    "without_qkv_bias": (lambda c, w: (Family(c), {k: a for k, a in w.items() if not k.endswith("_proj.bias")}), "q/k/v projections without their biases"),
    "norm_without_bias": (lambda c, w: (Family(c), {k: a for k, a in w.items() if not k.endswith("layernorm.bias") and k != "model.norm.bias"}),
                          "LayerNorms without their biases (weights only; the bias arrays dropped)"),
    "rms_norm": (lambda c, w: (stablelm_rms(c), w), "RMSNorm (no mean subtracted) with the LayerNorms' weights and biases"),
}


# Qwen2-MoE's shared expert, removed whole or only its gate.
QWEN2_MOE_QUIRKS = {
    "without_shared_expert": (lambda c, w: (Family(c, shared_expert=False), w), "Qwen2MoeSparseMoeBlock without the shared expert (the routed experts alone)"),
    "without_shared_expert_gate": (lambda c, w: (Family(c, shared_expert_gate=False), w), "the shared expert's output added unscaled, without sigmoid(shared_expert_gate(x))"),
}


def quirk_references(config, w, wiki, ref, sequences, quirks, run=forward):
    """The logits of sequence 0 with one quirk removed: quirks maps a name to a change (config, w) → (model, weights) and a
    meaning; run(model, weights, ids) is the port's forward that gives (logits, hidden states)."""
    base = ref["logits.0"][:QUIRK_POSITIONS].astype(np.float64)
    ids = wiki[sequences[0][0]:sequences[0][0] + sequences[0][1]]
    names, moved, meaning = {"positions": QUIRK_POSITIONS}, {}, {}
    for key, (change, description) in quirks.items():
        model, weights = change(config, w)
        logits, _ = run(model, weights, ids)
        ref[f"logits.0.{key}"] = logits[:QUIRK_POSITIONS].astype(np.float32)
        names[key] = f"logits.0.{key}"
        moved[key] = float(np.abs(logits[:QUIRK_POSITIONS] - base).max())
        meaning[key] = description
        print(f"quirk {key}: the logits move by {moved[key]:.4f}")
    return {"quirk_logits": names,
            "quirk_max_abs_change": {"of": "max |logits.0[:positions] - logits.0.<quirk>| in float64", **moved},
            "quirk_meaning": meaning}


def main():
    tokens = json.load(open(sys.argv[1]))
    wiki, prompt = np.array(tokens["wiki"], dtype=np.int64), tokens["prompt"]
    only = sys.argv[2:] or list(CONFIGS)
    for seed, (name, config) in enumerate(CONFIGS.items()):
        if name not in only:
            continue
        folder = os.path.join(FIXTURES, name)
        os.makedirs(folder, exist_ok=True)
        json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=2)
        for file in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(FIXTURES, "tiny-qwen2", file), folder)
        w32 = weights(config, 1000 + SEED_POSITIONS.get(name, seed))
        save_safetensors(os.path.join(folder, "model.safetensors"), w32)
        w = {k: a if a.dtype == np.uint8 else a.astype(np.float64) for k, a in w32.items()}
        run = runner(config, w)
        sequences = SEQUENCES.get(name, DEFAULT_SEQUENCES)
        ref = {}
        for s, (begin, length) in enumerate(sequences):
            ids = wiki[begin:begin + length]
            logits, hidden = run(ids)
            ref[f"input_ids.{s}"] = ids.astype(np.int64)
            ref[f"logits.{s}"] = logits.astype(np.float32)
            for l, h in enumerate(hidden):
                ref[f"hidden_states.{s}.{l}"] = h.astype(np.float32)
            print(f"{name} sequence {s}: logits in [{logits.min():.3f}, {logits.max():.3f}]")
        extra = moe_references(config, w, wiki, ref) if config["model_type"] == "qwen3_moe" else \
            qwen3_5_references(config, w, wiki, ref, sequences) if config["model_type"] == "qwen3_5_text" else \
            quirk_references(config, w, wiki, ref, sequences, FAMILY_QUIRKS[config["model_type"]]) if config["model_type"] in FAMILY_QUIRKS else \
            quirk_references(config, w, wiki, ref, sequences, GRANITE_QUIRKS) if config["model_type"] == "granite" else \
            quirk_references(config, w, wiki, ref, sequences, STABLELM_QUIRKS) if config["model_type"] == "stablelm" else \
            quirk_references(config, w, wiki, ref, sequences, QWEN2_MOE_QUIRKS) if config["model_type"] == "qwen2_moe" else \
            {**gemma4_fixture.routing_gap(config, w, wiki, sequences),
             **quirk_references(config, w, wiki, ref, sequences, gemma4_fixture.MOE_QUIRKS if config.get("enable_moe_block") else gemma4_fixture.QUIRKS,
                                gemma4_fixture.forward)} if config["model_type"] == "gemma4_text" else \
            gpt_oss_fixture.quirk_references(config, w, wiki, ref, sequences, QUIRK_POSITIONS) if config["model_type"] == "gpt_oss" else {}

        save_safetensors(os.path.join(folder, "reference.safetensors"), ref)
        output = greedy(run, prompt, 24)
        perplexity_tokens = PERPLEXITY_TOKENS_OF.get(name, PERPLEXITY_TOKENS)
        ppl, predicted = perplexity(run, wiki[:perplexity_tokens])
        print(f"{name}: perplexity {ppl:.4f} over {predicted} tokens; greedy {output}")
        slices = " and ".join(f"[{b}:{b + n}]" for b, n in sequences)
        computed_by = ("tools/family-fixtures/numpy_qwen3_5.py (a NumPy port of transformers' modeling_qwen3_5.py, the delta rule in its recurrent form) in float64"
                       if config["model_type"] == "qwen3_5_text" else gemma4_fixture.COMPUTED_BY
                       if config["model_type"] == "gemma4_text" else gpt_oss_fixture.COMPUTED_BY
                       if config["model_type"] == "gpt_oss" else
                       "tools/family-fixtures/numpy_forward.py (a NumPy port of transformers' modeling_" + config["model_type"].replace("_text", "") + ".py) in float64")
        json.dump({**extra, 
            "computed_by": computed_by,
            "sequences": f"input_ids.i = wiki.test.raw token slices {slices}; logits.i = logits; hidden_states.i.l = output of embedding (l=0) and of each decoder layer (l=1..L, last one after final norm as transformers reports it)",
            "perplexity": {"data": "wiki.test.raw", "tokens": perplexity_tokens, "tokenizer": "this folder's tokenizer.json (npm tokenizers 0.23.2), no BOS",
                           "protocol": "the first `tokens` tokens; non-overlapping windows of 256 tokens, each predicting its next 256 tokens from the window (last window shorter), mean NLL over all predicted tokens",
                           "value": ppl, "predicted_tokens": predicted},
            "greedy_generation": {"prompt": "The history of the", "prompt_ids": prompt, "output_ids": output, "max_new_tokens": 24},
            "note": "random weights, not trained",
        }, open(os.path.join(folder, "reference.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
