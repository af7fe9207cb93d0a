"""Renders the real tool-calling chat templates in tests/fixtures with a tool list, an assistant tool call and a
tool result, the way transformers' apply_chat_template(tools=...) does, and writes
tests/fixtures/tool-calls/expected-prompts.json. ToolCallRenderTests renders the same conversation through
QuantTune's ChatTranscript and template engine and requires byte-equal prompts.

transformers' environment is reproduced as in transformers/utils/chat_template_utils.py: jinja2's
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension, its own tojson
filter (json.dumps, ensure_ascii=False, keys unsorted), raise_exception and strftime_now. date_string is fixed so
the Llama prompts do not depend on today.

    python3 tools/chat-templates/render_tools.py     (jinja2 3.1.6; /usr/bin/python3 may lack it)
"""
import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformers_env import environment  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# name, file under tests/fixtures holding the template (a .jinja, or a tokenizer_config.json, maybe gzipped), bos
TEMPLATES = [
    ("qwen2.5", "compat/Qwen--Qwen2.5-0.5B-Instruct/tokenizer_config.json", None),
    ("qwen3", "compat/Qwen--Qwen3-1.7B/tokenizer_config.json", None),
    ("llama-3.1", "chat-templates/llama-3.1.jinja", "<|begin_of_text|>"),
    ("llama-3.2", "compat/meta-llama--Llama-3.2-1B-Instruct/tokenizer_config.json", "<|begin_of_text|>"),
]

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}]

QUESTION = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is the weather in Paris?"},
]

# An assistant call and its result as QuantTune's ChatTranscript writes them (transformers' convention).
ROUND_TRIP = QUESTION + [
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "id": "call00001", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
    {"role": "tool", "content": "{\"temp\": 18, \"sky\": \"sunny\"}", "tool_call_id": "call00001", "name": "get_weather"},
]

CASES = [("tools", QUESTION), ("call-and-result", ROUND_TRIP)]


def read_template(path):
    full = os.path.join(FIXTURES, path)
    opener = gzip.open if full.endswith(".gz") else open
    with opener(full, "rt", encoding="utf-8") as f:
        text = f.read()
    if ".jinja" in path:
        return text
    template = json.loads(text)["chat_template"]
    if isinstance(template, list):
        template = next(t["template"] for t in template if t["name"] == "default")
    return template


def main():
    env = environment()
    renders = []
    for name, path, bos in TEMPLATES:
        template = env.from_string(read_template(path))
        for case, messages in CASES:
            inputs = {"messages": messages, "tools": TOOLS, "add_generation_prompt": True, "date_string": "26 Jul 2024"}
            if bos is not None:
                inputs["bos_token"] = bos
            renders.append({"template": name, "file": path, "bos_token": bos, "case": case, "prompt": template.render(**inputs)})
    out = os.path.join(FIXTURES, "tool-calls", "expected-prompts.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"tools": TOOLS, "renders": renders}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(renders)} prompts written to {out}")


if __name__ == "__main__":
    main()
