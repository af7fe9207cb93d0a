#!/usr/bin/python3
"""One LoRA fine-tuning step of a Llama model in plain PyTorch, timed: the "plain PyTorch" side of
`dotnet run --project bench/QuantTune.Bench -c Release -- pytorch-comparison`, which runs QuantTune's
trainer on the same model, batches and settings and writes bench/results/pytorch-lora-step.json.

  /usr/bin/python3 tools/pytorch-comparison/lora_step.py --model assets/models/tiny-llama \
      --batches /tmp/batches.bin --batch 8 --seq 128 --warmup 3 --steps 20 --threads 2

Needs only torch and numpy (Debian 12: apt-get install python3-torch python3-numpy, PyTorch 1.13.1);
no transformers, peft or safetensors: the safetensors shards are parsed here and the Llama forward is
transformers' modeling_llama.py written out (RMSNorm, RoPE, grouped-query attention, SwiGLU MLP,
untied LM head). The step is what QuantTune's trainer does for `finetune --method lora` by default:
fp32, PEFT LoRA (r 8, alpha 16, dropout 0.05 on the adapter input, A Kaiming-uniform, B zero) on every
linear layer but lm_head, mean cross-entropy over the labelled positions, gradient clipping to norm
1.0, torch.optim.AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0) with a cosine learning rate.

--batches: the trainer's batches as raw little-endian int64, for each step [input ids B×T, labels B×T]
(labels already shifted: labels[t] is the token after inputs[t]; -100 is not scored), written by the
bench. Without it, --random-batches draws uniform ids of the model's vocabulary (timing only).

Prints one JSON object: the median and every step's milliseconds, the loss of the first step (before any
update the LoRA update is zero, so it is the base model's loss on that batch and must equal QuantTune's),
the torch version, its BLAS and threads, and which attention ran (scaled_dot_product_attention exists
from PyTorch 2.0; on 1.13 the eager softmax(QKᵀ/√d + causal mask)·V of transformers' eager attention).
"""
import argparse
import json
import math
import os
import re
import statistics
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def read_safetensors(path):
    """name -> fp32 numpy array, from one .safetensors file (8-byte LE header length, JSON header, raw bytes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}; expected one of {sorted(_DTYPES)}")
        start, end = info["data_offsets"]
        a = np.frombuffer(data[start:end], dtype=_DTYPES[info["dtype"]])
        if info["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[name] = a.astype(np.float32).reshape(info["shape"])
    return out


def read_model_weights(directory):
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
    else:
        shards = ["model.safetensors"]
    weights = {}
    for s in shards:
        weights.update(read_safetensors(os.path.join(directory, s)))
    return weights


# ---------------------------------------------------------------- Llama (transformers' modeling_llama.py)

class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


class LoraLinear(nn.Module):
    """PEFT's lora.Linear: base(x) + scaling * B(A(dropout(x))), scaling = alpha / r."""

    def __init__(self, weight, r, alpha, dropout):
        super().__init__()
        out_features, in_features = weight.shape
        self.base_layer = nn.Linear(in_features, out_features, bias=False)
        self.base_layer.weight = nn.Parameter(weight, requires_grad=False)
        self.lora_A = nn.Linear(in_features, r, bias=False)
        self.lora_B = nn.Linear(r, out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.scaling = alpha / r

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, w, prefix, c, lora):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c["heads"], c["kv_heads"], c["head_dim"]
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            setattr(self, name, lora(w[f"{prefix}.self_attn.{name}.weight"]))

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
            out = torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype), v)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class Mlp(nn.Module):
    def __init__(self, w, prefix, lora):
        super().__init__()
        for name in ("gate_proj", "up_proj", "down_proj"):
            setattr(self, name, lora(w[f"{prefix}.mlp.{name}.weight"]))

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, w, i, c, lora):
        super().__init__()
        prefix = f"model.layers.{i}"
        self.input_layernorm = RMSNorm(w[f"{prefix}.input_layernorm.weight"], c["eps"])
        self.post_attention_layernorm = RMSNorm(w[f"{prefix}.post_attention_layernorm.weight"], c["eps"])
        self.self_attn = Attention(w, prefix, c, lora)
        self.mlp = Mlp(w, prefix, lora)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaForCausalLM(nn.Module):
    def __init__(self, w, c, lora):
        super().__init__()
        self.embed_tokens = nn.Embedding.from_pretrained(w["model.embed_tokens.weight"], freeze=True)
        self.layers = nn.ModuleList(DecoderLayer(w, i, c, lora) for i in range(c["layers"]))
        self.norm = RMSNorm(w["model.norm.weight"], c["eps"])
        head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
        self.lm_head = nn.Linear(head.shape[1], head.shape[0], bias=False)
        self.lm_head.weight = nn.Parameter(head, requires_grad=False)
        dim = c["head_dim"]
        self.register_buffer("inv_freq", 1.0 / (c["theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        freqs = torch.arange(t, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)[None, None]
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def read_config(directory):
    with open(os.path.join(directory, "config.json")) as f:
        j = json.load(f)
    if j.get("model_type") != "llama":
        raise SystemExit(f"{directory}/config.json: model_type is {j.get('model_type')!r}; this script writes out the Llama forward only")
    heads = j["num_attention_heads"]
    rope = j.get("rope_parameters") or {}
    return {
        "layers": j["num_hidden_layers"], "heads": heads, "kv_heads": j.get("num_key_value_heads", heads),
        "head_dim": j.get("head_dim") or j["hidden_size"] // heads, "eps": j["rms_norm_eps"], "vocab": j["vocab_size"],
        "theta": rope.get("rope_theta", j.get("rope_theta", 10000.0)),
    }


# ---------------------------------------------------------------- the run

def cosine_factor(step, total):
    """QuantTune's LearningRateSchedule.Factor(Cosine, step, total, warmup 0): half-cosine from 1 to 0."""
    progress = min(max(step / total, 0.0), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def blas():
    """torch's BLAS_INFO build setting and the BLAS library this process loaded (Debian's torch takes libblas.so.3:
    the reference BLAS unless OpenBLAS is installed or put first with LD_LIBRARY_PATH)."""
    match = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    torch.ones(2, 2) @ torch.ones(2, 2)  # loads the BLAS
    try:
        with open("/proc/self/maps") as f:
            loaded = sorted({line.split()[-1] for line in f if "blas" in line.split()[-1]})
    except OSError:
        loaded = []
    return f"BLAS_INFO={match.group(1) if match else 'unknown'}; loaded: {', '.join(loaded) or 'unknown'}"


def debian_package():
    """The Debian package's version (its torch.__version__ reads 1.13.0a0), or None off Debian."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-torch"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--batches", help="raw int64 batches from the bench (see the module docstring)")
    p.add_argument("--random-batches", action="store_true", help="uniform random ids instead of --batches (timing only)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    if (a.batches is None) == (not a.random_batches):
        raise SystemExit("give --batches FILE or --random-batches")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    c = read_config(a.model)
    weights = {k: torch.from_numpy(v.copy()) for k, v in read_model_weights(a.model).items()}
    model = LlamaForCausalLM(weights, c, lambda w: LoraLinear(w, a.rank, a.alpha, a.dropout))
    total_steps = a.warmup + a.steps
    if a.batches:
        raw = np.fromfile(a.batches, dtype="<i8")
        per_step = 2 * a.batch * a.seq
        if raw.size % per_step != 0 or raw.size // per_step < total_steps:
            raise SystemExit(f"{a.batches}: {raw.size} int64 values; expected {total_steps} steps of 2×{a.batch}×{a.seq}")
        batches = raw.reshape(-1, 2, a.batch, a.seq)[:total_steps]
        data = "bench batches (" + a.batches + ")"
    else:
        g = np.random.default_rng(a.seed)
        ids = g.integers(0, c["vocab"], size=(total_steps, a.batch, a.seq + 1), dtype=np.int64)
        batches = np.stack([ids[:, :, :-1], ids[:, :, 1:]], axis=1)
        data = "random ids"

    trainable = [q for q in model.parameters() if q.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    model.train()
    times, losses = [], []
    for step in range(total_steps):
        torch.manual_seed(a.seed * 1_000_003 + step)
        for group in optimizer.param_groups:
            group["lr"] = a.lr * cosine_factor(step, total_steps)
        start = time.perf_counter()
        ids = torch.from_numpy(batches[step, 0])
        labels = torch.from_numpy(batches[step, 1])
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, a.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
    timed = [t * 1000 for t in times[a.warmup:]]
    print(json.dumps({
        "median_ms_per_step": round(statistics.median(timed), 1),
        "steps_ms": [round(t, 1) for t in timed],
        "warmup_steps_ms": [round(t * 1000, 1) for t in times[: a.warmup]],
        "step0_loss": losses[0],
        "losses": [round(x, 4) for x in losses],
        "trainable_parameters": sum(q.numel() for q in trainable),
        "total_parameters": sum(q.numel() for q in model.parameters()),
        "torch_version": torch.__version__,
        "debian_package": debian_package(),
        "python": sys.version.split()[0],
        "blas": blas(),
        "threads": torch.get_num_threads(),
        "attention": "scaled_dot_product_attention" if hasattr(F, "scaled_dot_product_attention")
        else "eager (softmax(QK^T/sqrt(d) + causal mask) V; scaled_dot_product_attention arrived in PyTorch 2.0)",
        "data": data,
        "batch": a.batch, "seq": a.seq, "warmup": a.warmup, "steps": a.steps,
    }))


if __name__ == "__main__":
    main()
