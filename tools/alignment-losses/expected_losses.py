#!/usr/bin/python3
"""Expected values of QuantTune's preference-optimisation losses (src/QuantTune/Training/Alignment), computed
here with NumPy alone from the papers' and TRL's formulas, on fixed log-probabilities. Writes
tests/fixtures/alignment/expected-losses.json, which AlignmentLossTests compares to (CI runs no Python):

  /usr/bin/python3 tools/alignment-losses/expected_losses.py

Each case lists its inputs (summed completion log-probabilities of the policy and the reference, completion
lengths, the chosen NLL, KTO's mismatched pairs), its options (beta, label_smoothing, simpo_gamma, cpo_alpha,
desirable_weight, undesirable_weight) and its expected loss and metrics under TRL's names. DPO cases also give
d loss / d policy log-probs, written out from the derivative of the sigmoid loss (not by autograd):
  d/dlogpi_c [-(1-e) log s(bD) - e log s(-bD)] / B = (-(1-e) b s(-bD) + e b s(bD)) / B,  and the negative for logpi_r.
"""
import json
import os

import numpy as np


def log_sigmoid(x):
    # log s(x) = -log(1 + e^-x), evaluated without overflow on either side.
    return -np.logaddexp(0.0, -x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def log1mexp(x):
    # log(1 - e^x) for x < 0, directly from the definition in float64 (accurate for the values used here).
    return np.log(-np.expm1(x))


def paired_metrics(rc, rr, lc, lr):
    return {
        "rewards/chosen": float(np.mean(rc)),
        "rewards/rejected": float(np.mean(rr)),
        "rewards/accuracies": float(np.mean((rc > rr).astype(np.float64))),
        "rewards/margins": float(np.mean(rc - rr)),
        "logps/chosen": float(np.mean(lc)),
        "logps/rejected": float(np.mean(lr)),
    }


def dpo(x, o):
    b, e = o["beta"], o["label_smoothing"]
    cr = x["chosen"] - x["reference_chosen"]
    rr = x["rejected"] - x["reference_rejected"]
    d = cr - rr
    per_pair = -(1 - e) * log_sigmoid(b * d) - e * log_sigmoid(-b * d)
    n = len(d)
    grad_chosen = (-(1 - e) * b * sigmoid(-b * d) + e * b * sigmoid(b * d)) / n
    return float(per_pair.mean()), paired_metrics(b * cr, b * rr, x["chosen"], x["rejected"]), {
        "chosen": grad_chosen.tolist(), "rejected": (-grad_chosen).tolist()}


def ipo(x, o):
    b = o["beta"]
    cr = x["chosen"] - x["reference_chosen"]
    rr = x["rejected"] - x["reference_rejected"]
    d = cr / np.maximum(x["chosen_tokens"], 1) - rr / np.maximum(x["rejected_tokens"], 1)
    loss = np.mean((d - 1 / (2 * b)) ** 2)
    return float(loss), paired_metrics(b * cr, b * rr, x["chosen"], x["rejected"]), None


def orpo(x, o):
    b = o["beta"]
    ac = x["chosen"] / x["chosen_tokens"]
    ar = x["rejected"] / x["rejected_tokens"]
    log_odds = (ac - ar) - (log1mexp(ac) - log1mexp(ar))
    ratio = log_sigmoid(log_odds)
    loss = x["chosen_nll"] - b * ratio.mean()
    m = paired_metrics(b * ac, b * ar, ac, ar)
    m["nll_loss"] = float(x["chosen_nll"])
    m["log_odds_ratio"] = float(ratio.mean())
    m["log_odds_chosen"] = float(log_odds.mean())
    return float(loss), m, None


def simpo(x, o):
    b, g, e, a = o["beta"], o["simpo_gamma"], o["label_smoothing"], o["cpo_alpha"]
    ac = x["chosen"] / x["chosen_tokens"]
    ar = x["rejected"] / x["rejected_tokens"]
    # SimPO paper: -log s(b*ac - b*ar - g), written with the margin subtracted after scaling.
    z = b * ac - b * ar - g
    loss = np.mean(-(1 - e) * log_sigmoid(z) - e * log_sigmoid(-z))
    m = paired_metrics(b * ac, b * ar, ac, ar)
    if a > 0:
        loss = loss + a * x["chosen_nll"]
        m["nll_loss"] = float(x["chosen_nll"])
    return float(loss), m, None


def kto(x, o):
    b = o["beta"]
    z0 = max(0.0, float(np.mean(x["mismatched"] - x["reference_mismatched"])))
    cr = x["chosen"] - x["reference_chosen"]
    rr = x["rejected"] - x["reference_rejected"]
    losses = np.concatenate([o["desirable_weight"] * (1 - sigmoid(b * (cr - z0))),
                             o["undesirable_weight"] * (1 - sigmoid(b * (z0 - rr)))])
    m = {"kl": z0}
    if len(cr):
        m["rewards/chosen"] = float(np.mean(b * cr))
        m["logps/chosen"] = float(np.mean(x["chosen"]))
    if len(rr):
        m["rewards/rejected"] = float(np.mean(b * rr))
        m["logps/rejected"] = float(np.mean(x["rejected"]))
    if len(cr) and len(rr):
        m["rewards/margins"] = m["rewards/chosen"] - m["rewards/rejected"]
    return float(losses.mean()), m, None


DEFAULTS = {"beta": 0.1, "label_smoothing": 0.0, "simpo_gamma": 0.5, "cpo_alpha": 0.0,
            "desirable_weight": 1.0, "undesirable_weight": 1.0}

PAIRED = {
    "chosen": [-12.5, -30.25, -7.0, -55.0],
    "rejected": [-14.0, -28.5, -9.75, -61.25],
    "reference_chosen": [-13.0, -29.0, -8.5, -57.5],
    "reference_rejected": [-13.5, -29.5, -9.0, -60.0],
    "chosen_tokens": [5, 12, 3, 20],
    "rejected_tokens": [6, 11, 4, 22],
    "chosen_nll": 2.375,
}

# KTO: three desirable, two undesirable; the mismatched pairs put a larger policy log-prob than the reference's on
# average (a positive KL estimate), and a second case where the estimate is negative and clamps to 0.
UNPAIRED = {
    "chosen": [-10.0, -22.5, -5.25],
    "rejected": [-18.0, -9.5],
    "reference_chosen": [-11.5, -21.0, -6.0],
    "reference_rejected": [-16.25, -10.0],
    "chosen_tokens": [4, 9, 2],
    "rejected_tokens": [7, 3],
    "mismatched": [-30.0, -41.5, -25.0, -33.0, -28.0],
    "reference_mismatched": [-31.0, -40.0, -27.5, -34.5, -28.25],
}
UNPAIRED_NEGATIVE_KL = dict(UNPAIRED, reference_mismatched=[-29.0, -40.0, -24.0, -32.5, -27.0])

CASES = [
    ("dpo", "dpo", PAIRED, {}),
    ("dpo-beta-0.5", "dpo", PAIRED, {"beta": 0.5}),
    ("dpo-label-smoothing", "dpo", PAIRED, {"label_smoothing": 0.2}),
    ("ipo", "ipo", PAIRED, {}),
    ("ipo-beta-1", "ipo", PAIRED, {"beta": 1.0}),
    ("orpo", "orpo", PAIRED, {}),
    ("orpo-beta-0.25", "orpo", PAIRED, {"beta": 0.25}),
    ("simpo", "simpo", PAIRED, {}),
    ("simpo-beta-2-gamma-1", "simpo", PAIRED, {"beta": 2.0, "simpo_gamma": 1.0}),
    ("simpo-cpo-alpha", "simpo", PAIRED, {"cpo_alpha": 1.0, "label_smoothing": 0.1}),
    ("kto", "kto", UNPAIRED, {}),
    ("kto-weights", "kto", UNPAIRED, {"desirable_weight": 1.33, "undesirable_weight": 0.5, "beta": 0.3}),
    ("kto-negative-kl", "kto", UNPAIRED_NEGATIVE_KL, {}),
]

FUNCTIONS = {"dpo": dpo, "ipo": ipo, "orpo": orpo, "simpo": simpo, "kto": kto}


def main():
    out = []
    for name, objective, inputs, options in CASES:
        o = dict(DEFAULTS, **options)
        x = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
        loss, metrics, grads = FUNCTIONS[objective](x, o)
        case = {"name": name, "objective": objective, "options": o, "inputs": inputs, "loss": loss, "metrics": metrics}
        if grads is not None:
            case["gradients"] = grads
        out.append(case)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "tests", "fixtures", "alignment", "expected-losses.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/alignment-losses/expected_losses.py", "numpy": np.__version__, "cases": out}, f, indent=1)
        f.write("\n")
    print(path)


if __name__ == "__main__":
    main()
