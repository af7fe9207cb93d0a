#!/usr/bin/env python3
"""Writes tests/fixtures/compat/<repo>/chat_render.json: the repository's chat template rendered by Python's jinja2
the way transformers' apply_chat_template renders it (ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, loopcontrols, the {% generation %} tag, transformers' tojson filter, raise_exception and
strftime_now), on one short conversation, with and without the generation prompt.

  python3 tools/compat-fixtures/render_templates.py

The template is the folder's chat_template.jinja, else the chat_template of its tokenizer_config.json (or .json.gz), else (a
folder without tokenizer_config.json) that of the tokenizer its tokenizer.ref names. bos_token and eos_token come
from the same tokenizer_config.json. strftime_now reads a fixed clock (CLOCK) so the renders do not depend on the day.
"""
import gzip, json, os

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chat-templates"))
from transformers_env import CLOCK, environment  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPAT = os.path.join(ROOT, "tests", "fixtures", "compat")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
MESSAGES = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
]


def token_text(value):
    return value.get("content") if isinstance(value, dict) else value


def tokenizer_config(folder):
    own = os.path.join(folder, "tokenizer_config.json")
    if os.path.exists(own):
        return json.load(open(own, encoding="utf-8"))
    if os.path.exists(own + ".gz"):
        with gzip.open(own + ".gz", "rt", encoding="utf-8") as f:
            return json.load(f)
    ref = json.load(open(os.path.join(folder, "tokenizer.ref"), encoding="utf-8"))
    with gzip.open(os.path.join(FIXTURES, ref["tokenizer"], "tokenizer_config.json.gz"), "rt", encoding="utf-8") as f:
        return json.load(f)


def main():
    env = environment()
    for name in sorted(os.listdir(COMPAT)):
        folder = os.path.join(COMPAT, name)
        if not os.path.isdir(folder) or not (os.path.exists(os.path.join(folder, "tokenizer.ref")) or os.path.exists(os.path.join(folder, "tokenizer_config.json")) or os.path.exists(os.path.join(folder, "tokenizer_config.json.gz"))):
            continue
        config = tokenizer_config(folder)
        jinja = os.path.join(folder, "chat_template.jinja")
        source = open(jinja, encoding="utf-8").read() if os.path.exists(jinja) else config.get("chat_template")
        if isinstance(source, list):
            source = next(t["template"] for t in source if t["name"] == "default")
        if source is None:
            continue
        template = env.from_string(source)
        inputs = dict(messages=MESSAGES, bos_token=token_text(config.get("bos_token")), eos_token=token_text(config.get("eos_token")))
        render = {
            "messages": MESSAGES,
            "bos_token": inputs["bos_token"],
            "eos_token": inputs["eos_token"],
            "clock": CLOCK.isoformat(),
            "with_generation_prompt": template.render(add_generation_prompt=True, **inputs),
            "without_generation_prompt": template.render(add_generation_prompt=False, **inputs),
        }
        with open(os.path.join(folder, "chat_render.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(render, indent=1, ensure_ascii=False) + "\n")
        print(name)


if __name__ == "__main__":
    main()
