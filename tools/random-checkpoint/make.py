#!/usr/bin/env python3
"""Writes a Llama-layout checkpoint with random weights at a chosen shape, for measuring memory at real sizes
where real weights cannot be downloaded: config.json, model.safetensors (F32 or F16) and tiny-llama's tokenizer.

  python3 tools/random-checkpoint/make.py OUT --hidden 1024 --layers 16 --intermediate 4096 --heads 16 --kv-heads 4 [--dtype f16]

Needs only NumPy. The tokenizer is the embedded tiny-llama's (4,096 ids), so vocab_size defaults to 4096.
"""
import argparse, json, os, shutil, struct
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--hidden", type=int, default=1024)
p.add_argument("--layers", type=int, default=16)
p.add_argument("--intermediate", type=int, default=4096)
p.add_argument("--heads", type=int, default=16)
p.add_argument("--kv-heads", type=int, default=4)
p.add_argument("--vocab", type=int, default=4096)
p.add_argument("--dtype", choices=["f32", "f16"], default="f32")
a = p.parse_args()

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
tiny = os.path.join(root, "assets", "models", "tiny-llama")
os.makedirs(a.out, exist_ok=True)
for f in ["tokenizer.json", "tokenizer_config.json"]:
    shutil.copy(os.path.join(tiny, f), os.path.join(a.out, f))
head_dim = a.hidden // a.heads
config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": a.hidden, "intermediate_size": a.intermediate,
    "num_hidden_layers": a.layers, "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads, "vocab_size": a.vocab,
    "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
    "tie_word_embeddings": False, "torch_dtype": "float32" if a.dtype == "f32" else "float16", "bos_token_id": 1, "eos_token_id": 2,
}
json.dump(config, open(os.path.join(a.out, "config.json"), "w"), indent=2)

h, i, kv = a.hidden, a.intermediate, a.kv_heads * head_dim
shapes = {"model.embed_tokens.weight": (a.vocab, h), "model.norm.weight": (h,), "lm_head.weight": (a.vocab, h)}
for l in range(a.layers):
    b = f"model.layers.{l}."
    shapes.update({b + "input_layernorm.weight": (h,), b + "post_attention_layernorm.weight": (h,),
                   b + "self_attn.q_proj.weight": (h, h), b + "self_attn.k_proj.weight": (kv, h), b + "self_attn.v_proj.weight": (kv, h),
                   b + "self_attn.o_proj.weight": (h, h), b + "mlp.gate_proj.weight": (i, h), b + "mlp.up_proj.weight": (i, h),
                   b + "mlp.down_proj.weight": (h, i)})
np_dtype, st_dtype = (np.float32, "F32") if a.dtype == "f32" else (np.float16, "F16")
header, offset = {}, 0
for name, shape in shapes.items():
    n = int(np.prod(shape)) * np.dtype(np_dtype).itemsize
    header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
    offset += n
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
rng = np.random.default_rng(0)
with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for name, shape in shapes.items():
        w = np.ones(shape) if name.endswith("norm.weight") else rng.standard_normal(shape) * 0.02
        f.write(w.astype(np_dtype).tobytes())
params = sum(int(np.prod(s)) for s in shapes.values())
print(f"{a.out}: {params:,} parameters, {offset / 2**20:.0f} MiB of {a.dtype} weights")
