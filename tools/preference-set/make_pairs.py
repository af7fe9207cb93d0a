#!/usr/bin/python3
"""A small preference set from Tiny Shakespeare, for docs/results/alignment.md: the prompt is 48 characters of the
text, the chosen completion the 24 characters that truly follow, the rejected one the same characters shuffled (a
corrupted copy of equal length). Training pairs come from the start of the text, held-out pairs from character
20,000 on; --unpaired writes KTO's records (chosen desirable, rejected undesirable). Standard library only.

  /usr/bin/python3 tools/preference-set/make_pairs.py --out /tmp/pairs
"""
import argparse
import json
import os
import random


def pairs(text, count, start, seed):
    rng = random.Random(seed)
    for i in range(count):
        at = start + i * 97
        prompt, chosen = text[at:at + 48], text[at + 48:at + 72]
        shuffled = list(chosen)
        rng.shuffle(shuffled)
        yield {"prompt": prompt, "chosen": chosen, "rejected": "".join(shuffled)}


def write(path, records):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def unpaired(records):
    for r in records:
        yield {"prompt": r["prompt"], "completion": r["chosen"], "label": True}
        yield {"prompt": r["prompt"], "completion": r["rejected"], "label": False}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--train", type=int, default=48)
    parser.add_argument("--eval", type=int, default=16)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    text = open(os.path.join(root, "assets", "data", "tiny-shakespeare.txt"), encoding="utf-8").read()
    os.makedirs(args.out, exist_ok=True)
    train, held = list(pairs(text, args.train, 0, 1)), list(pairs(text, args.eval, 20_000, 2))
    write(os.path.join(args.out, "train.jsonl"), train)
    write(os.path.join(args.out, "eval.jsonl"), held)
    write(os.path.join(args.out, "train-unpaired.jsonl"), unpaired(train))
    write(os.path.join(args.out, "eval-unpaired.jsonl"), unpaired(held))


if __name__ == "__main__":
    main()
