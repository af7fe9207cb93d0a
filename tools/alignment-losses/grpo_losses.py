#!/usr/bin/python3
"""Expected values of QuantTune's GRPO loss (src/QuantTune/Training/Alignment/Grpo/GrpoLoss.cs), computed here with
NumPy alone from TRL's GRPOTrainer (trl/trainer/grpo_trainer.py at commit d2b69d769dab6f77acbfd33252bcd7d22765571b:
_generate_and_score_completions for the advantages, _compute_loss for the loss and metrics; defaults from
trl/trainer/grpo_config.py at 006d32c9bf5da698815726ebd0de78b404e8163d). Writes
tests/fixtures/alignment/expected-grpo.json, which GrpoLossTests compares to (CI runs no Python):

  /usr/bin/python3 tools/alignment-losses/grpo_losses.py

Each case gives fixed per-token log-probabilities of the policy, the sampling ("old") policy and the reference, a
completion mask, the rewards of G completions per prompt, the options (num_generations, scale_rewards, beta, epsilon,
epsilon_high, loss_type, max_completion_length), and the expected advantages, loss, metrics and d loss / d policy
log-probs. The gradient is written out from the derivative of each token's loss (not by autograd):
  clipped surrogate: -A r where the unclipped term is the minimum (or r lies inside the clip range), 0 where the clipped one is;
  k3 KL term: beta (1 - exp(ref - logp));
times the token's weight in the average (1/tokens for dapo, 1/(N len_i) for grpo, 1/(N max_completion_length) for
dr_grpo); the script checks it against central finite differences before writing.
"""
import json
import os

import numpy as np


def advantages(rewards, g, scale):
    r = np.asarray(rewards, dtype=np.float64)
    groups = r.reshape(-1, g)
    mean = np.repeat(groups.mean(1), g)
    std = np.repeat(groups.std(1, ddof=1), g)
    a = r - mean
    if scale == "group":
        a = a / (std + 1e-4)
    elif scale == "batch":
        a = a / (r.std(ddof=1) + 1e-4)
    return a, groups.mean(1), groups.std(1, ddof=1)


def loss(lp, old, ref, adv, mask, o):
    lo, hi = o["epsilon"], o["epsilon_high"] if o["epsilon_high"] is not None else o["epsilon"]
    r = np.exp(lp - old)
    c = np.clip(r, 1 - lo, 1 + hi)
    a = adv[:, None]
    per_token = -np.minimum(r * a, c * a)
    kl = None
    if o["beta"] > 0:
        d = ref - lp
        kl = np.exp(d) - d - 1
        per_token = per_token + o["beta"] * kl
    n = lp.shape[0]
    if o["loss_type"] == "grpo":
        value = ((per_token * mask).sum(1) / np.maximum(mask.sum(1), 1)).mean()
        weight = mask / np.maximum(mask.sum(1, keepdims=True), 1) / n
    elif o["loss_type"] == "dr_grpo":
        value = (per_token * mask).sum() / (n * o["max_completion_length"])
        weight = mask / (n * o["max_completion_length"])
    else:  # dapo (one generation batch: bnpo)
        value = (per_token * mask).sum() / max(mask.sum(), 1)
        weight = mask / max(mask.sum(), 1)
    tokens = max(mask.sum(), 1)
    low = (r < 1 - lo) & (a < 0)
    high = (r > 1 + hi) & (a > 0)
    metrics = {
        "clip_ratio/low_mean": float((low * mask).sum() / tokens),
        "clip_ratio/high_mean": float((high * mask).sum() / tokens),
        "clip_ratio/region_mean": float(((low | high) * mask).sum() / tokens),
    }
    if kl is not None:
        metrics["kl"] = float((kl * mask).sum() / tokens)
    # The derivative, token by token.
    unclipped = (r * a <= c * a) | ((r >= 1 - lo) & (r <= 1 + hi))
    grad = np.where(unclipped, -a * r, 0.0)
    if o["beta"] > 0:
        grad = grad + o["beta"] * (1 - np.exp(ref - lp))
    return float(value), metrics, grad * weight


def case(name, seed, n_prompts, g, t, o):
    rng = np.random.default_rng(seed)
    n = n_prompts * g
    lp = rng.uniform(-4.0, -0.5, size=(n, t))
    # Old log-probs near the policy's: ratios from about 0.6 to 1.6, so both clip bounds are crossed; none sits on a bound.
    old = lp + rng.uniform(-0.45, 0.45, size=(n, t))
    ref = lp + rng.normal(0.0, 0.3, size=(n, t))
    lengths = rng.integers(1, t + 1, size=n)
    lengths[0] = t
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.float64)
    rewards = rng.choice([0.0, 0.5, 1.0, 2.0], size=n)
    rewards[:g] = [1.0] + [0.0] * (g - 1)
    adv, means, stds = advantages(rewards, g, o["scale_rewards"])
    value, metrics, grad = loss(lp, old, ref, adv, mask, o)
    # Central differences of the loss in each policy log-prob (float64).
    h = 1e-6
    numeric = np.zeros_like(lp)
    for idx in np.ndindex(lp.shape):
        up, down = lp.copy(), lp.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (loss(up, old, ref, adv, mask, o)[0] - loss(down, old, ref, adv, mask, o)[0]) / (2 * h)
    assert np.allclose(numeric, grad, atol=1e-7), f"{name}: the written-out gradient differs from finite differences"
    return {
        "name": name, "options": o,
        "inputs": {"logps": lp.tolist(), "old_logps": old.tolist(), "reference_logps": ref.tolist(), "mask": mask.tolist(), "rewards": rewards.tolist()},
        "expected": {"advantages": adv.tolist(), "group_means": means.tolist(), "group_stds": stds.tolist(), "loss": value, "metrics": metrics, "grad_logps": grad.tolist()},
    }


def options(**kw):
    o = {"num_generations": 4, "scale_rewards": "group", "beta": 0.0, "epsilon": 0.2, "epsilon_high": None, "loss_type": "dapo", "max_completion_length": 6}
    o.update(kw)
    return o


def main():
    cases = [
        case("trl-defaults", 1, 2, 4, 6, options()),
        case("grpo-beta-epsilon-high", 2, 2, 4, 6, options(loss_type="grpo", beta=0.04, epsilon_high=0.28)),
        case("dr-grpo-unscaled", 3, 3, 2, 5, options(num_generations=2, loss_type="dr_grpo", scale_rewards="none", beta=0.1, max_completion_length=5)),
        case("batch-scaled", 4, 2, 3, 4, options(num_generations=3, scale_rewards="batch", epsilon=0.1, max_completion_length=4)),
    ]
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "..", "tests", "fixtures", "alignment", "expected-grpo.json")
    with open(out, "w") as f:
        json.dump({"source": "tools/alignment-losses/grpo_losses.py", "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
