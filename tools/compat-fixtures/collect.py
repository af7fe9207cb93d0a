#!/usr/bin/env python3
"""Collects the published small files of popular Hugging Face repositories into tests/fixtures/compat/<org>--<repo>/.

Every file is copied byte for byte from where it was found (a public git snapshot, read with `git show
<commit>:<path>`), or, where the published JSON was found printed inside a document (a model card or notes that
paste config.json whole), the JSON text between that document's heading and the end of its object, unchanged.
Nothing is written by hand: a repository enters only with a config.json found this way.

  python3 tools/compat-fixtures/collect.py MIRRORS_DIR [FOLDER ...]

(with FOLDER names, only those folders are written).

MIRRORS_DIR holds git snapshots as MIRRORS_DIR/<owner>+<name>/repo (bare git directories). The tokenizer of a
repository is written as tokenizer.ref (JSON) naming a tokenizer already under tests/fixtures/tokenizers/ with the
SHA-256 of its tokenizer.json, and whether the sharing is verified (a public manifest pins that same SHA-256 for
this repository's tokenizer.json) or a stand-in (the same vocabulary family, not checked file for file).
Then run render_templates.py to write each folder's expected chat-template renderings.
"""
import gzip, hashlib, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "compat")
TOKENIZERS = os.path.join(ROOT, "tests", "fixtures", "tokenizers")

LLM_PROF = ("citsjtu2020/LLM-Prof", "8434c8d19c396b2f95d92a67845a7c0a0e0dd512", "sglang/Model_Config.md")
WARPIO = ("akougkas/warpio-cli", "3b0a51078da8ac85c7014c1ba4e6c1d6fcfef2e4")
SMOLLM3 = ("fetchwiki/HuggingFaceTB-SmolLM3-3B", "2db8990c473c6b73b340dde39f1f323e8ab305e4")
MISTRAL_FT = ("MonilSompura/MistralAI", "f29050078f5217798c870dfd9c78b4012917efda")
GEMMA3_270M = ("varun00391/local-finetuned-model", "a913c33978b466ed686191eda666661a918ee9a3")
QWEN3_1_7B = ("mephisto1484/Neko-LoRA-Build-Your-AI-Catgirl", "1d5d0234975c08fb04966e5c0058add27f1ae315")
LLAMA32_1B = ("MatthewGoldsberry/LLM-Projects", "bf1733705e944f312bf5564d13932a9b6de21606")
PHI4 = ("mehmetcc/pal", "b5a7a0de48f7a687e62d6512edf901928ac657eb")
LLAMA32_1B_IT = ("DannyMeb/iShrink-LLM-Compression-Framework", "b2cf257f89d1f2a29405285f44cbcbf32ef0f759")
QWEN25_05B_IT = ("infinityarpan/qwen-25-api", "88ec35fc849f376d0bb2c797f2579874e4d076ea")
QWEN25_15B_IT = ("ilyassLambardi/Bilingual-Voice-Ai-Application-", "82a39dd22509eabb74e90dd6698dad78fd3db332")
PHI2 = ("Into-The-Grey/Personal_assistant", "733e6c3f8f7e5a299ca9f6048a5234a2a8e2c579")

QWEN3_VERIFIED = "verified: public manifests pin tokenizer.json sha256 aeb13307...dae4 for this repository"
QWEN3_STANDIN = "stand-in: Qwen3's tokenizer (same vocab_size and special ids in config.json); this repository's own tokenizer.json is not checked here"
QWEN25_STANDIN = "stand-in: Qwen3's tokenizer; Qwen2.5's own tokenizer.json has the same byte-level BPE but 4 fewer added tokens (no <think>, <tool_response>) and was not found"
LLAMA3_STANDIN = "stand-in: the Llama 3 tokenizer.json (sha256 e134af98...6cc7, published for Meta-Llama-3-8B); this repository's own file is not checked here"
SMOLLM3_STANDIN = "stand-in: the Llama 3 tokenizer (SmolLM3 extends that vocabulary: its own tokenizer.json, sha256 7b6a500b...0930005 per the snapshot's LFS pointer, differs)"
QWEN3_1_7B_VERIFIED = "verified: the snapshot's Git LFS pointer for tokenizer.json names sha256 aeb13307...dae4 (11,422,654 bytes)"
GEMMA3_270M_STANDIN = "stand-in: Gemma 3's tokenizer (262,144 ids, as vocab_size); this repository's own tokenizer.json (sha256 7d4046bf...809b0c, 33,384,570 bytes per the snapshot's Git LFS pointer) differs and is not stored"
PHI4_STANDIN = "stand-in: cl100k_base, the byte-level BPE Phi-4's vocabulary extends; its own tokenizer.json (100,352 ids with <|im_start|>, <|im_sep|>, <|im_end|> as added tokens) was not found"
GEMMA3_STANDIN = "stand-in: Gemma 3's tokenizer (262,144 ids, as vocab_size); this repository's own file is not checked here"

# target folder -> files: name -> (kind, source...), plus the tokenizer reference and the licence.
REPOS = {
    "Qwen--Qwen3-8B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen3-8B")},
                           tokenizer=("qwen3", QWEN3_VERIFIED), licence="Apache-2.0"),
    "Qwen--Qwen3-14B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen3-14B")},
                            tokenizer=("qwen3", QWEN3_STANDIN), licence="Apache-2.0"),
    "Qwen--Qwen3-32B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen3-32B")},
                            tokenizer=("qwen3", QWEN3_STANDIN), licence="Apache-2.0"),
    "Qwen--Qwen3-30B-A3B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen3-30B-A3B")},
                                tokenizer=("qwen3", QWEN3_STANDIN), licence="Apache-2.0"),
    "Qwen--Qwen3-4B-Thinking-2507": dict(files={
        # (the card's tokenizer_config.json is not taken: its chat_template string is broken across lines there)
        "config.json": ("md-section", *WARPIO, "warpio-docs/ai-docs/model_cards/qwen3:4b.md", "## config.json")},
        tokenizer=("qwen3", QWEN3_VERIFIED), licence="Apache-2.0"),
    "Qwen--Qwen2.5-3B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen2.5-3B")},
                             tokenizer=("qwen3", QWEN25_STANDIN), licence="Qwen Research License (qwen-research)"),
    "Qwen--Qwen2.5-7B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen2.5-7B")},
                             tokenizer=("qwen3", QWEN25_STANDIN), licence="Apache-2.0"),
    "Qwen--Qwen2.5-14B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen2.5-14B")},
                              tokenizer=("qwen3", QWEN25_STANDIN), licence="Apache-2.0"),
    "Qwen--Qwen2.5-32B": dict(files={"config.json": ("md-section", *LLM_PROF, "Qwen2.5-32B")},
                              tokenizer=("qwen3", QWEN25_STANDIN), licence="Apache-2.0"),
    "meta-llama--Llama-3.1-8B": dict(files={"config.json": ("md-section", *LLM_PROF, "Llama-3.1-8B")},
                                     tokenizer=("llama3.1", LLAMA3_STANDIN), licence="Llama 3.1 Community License"),
    "meta-llama--Llama-3.2-3B": dict(files={"config.json": ("md-section", *LLM_PROF, "Llama-3.2-3B")},
                                     tokenizer=("llama3.1", LLAMA3_STANDIN), licence="Llama 3.2 Community License"),
    "HuggingFaceTB--SmolLM3-3B": dict(files={
        "config.json": ("git", *SMOLLM3, "config.json"),
        "generation_config.json": ("git", *SMOLLM3, "generation_config.json"),
        "tokenizer_config.json": ("git", *SMOLLM3, "tokenizer_config.json"),
        "chat_template.jinja": ("git", *SMOLLM3, "chat_template.jinja")},
        tokenizer=("llama3.1", SMOLLM3_STANDIN), licence="Apache-2.0"),
    # A fine-tune of mistralai/Mistral-7B-Instruct-v0.2 (its _name_or_path), saved by transformers 4.41.1 in float32:
    # the same keys and shape as that repository's config.json, with its own tokenizer files.
    "MonilSompura--MistralAI": dict(files={
        "config.json": ("git", *MISTRAL_FT, "config.json"),
        "generation_config.json": ("git", *MISTRAL_FT, "generation_config.json"),
        "tokenizer_config.json": ("git", *MISTRAL_FT, "tokenizer_config.json"),
        "tokenizer.json.gz": ("git-gzip", *MISTRAL_FT, "tokenizer.json")},
        tokenizer=None, licence="Apache-2.0 (Mistral-7B-Instruct-v0.2's licence; the fine-tune names none)"),
    "google--gemma-3-270m-it": dict(files={
        "config.json": ("git", *GEMMA3_270M, "gemma-3-270m/gemma-3-270m-it/config.json"),
        "generation_config.json": ("git", *GEMMA3_270M, "gemma-3-270m/gemma-3-270m-it/generation_config.json"),
        "tokenizer_config.json.gz": ("git-gzip", *GEMMA3_270M, "gemma-3-270m/gemma-3-270m-it/tokenizer_config.json"),
        "chat_template.jinja": ("git", *GEMMA3_270M, "gemma-3-270m/gemma-3-270m-it/chat_template.jinja")},
        tokenizer=("gemma3", GEMMA3_270M_STANDIN), licence="Gemma Terms of Use"),
    # Qwen/Qwen3-1.7B as re-saved by transformers 4.57.1 in float16 ("dtype", "layer_types" added): the same shape.
    "Qwen--Qwen3-1.7B": dict(files={
        "config.json": ("git", *QWEN3_1_7B, "Qwen3-1.7B/config.json"),
        "generation_config.json": ("git", *QWEN3_1_7B, "Qwen3-1.7B/generation_config.json"),
        "tokenizer_config.json": ("git", *QWEN3_1_7B, "Qwen3-1.7B/tokenizer_config.json")},
        tokenizer=("qwen3", QWEN3_1_7B_VERIFIED), licence="Apache-2.0"),
    "meta-llama--Llama-3.2-1B": dict(files={
        "config.json": ("git", *LLAMA32_1B, "Llama-3.2-1B/config.json"),
        "generation_config.json": ("git", *LLAMA32_1B, "Llama-3.2-1B/generation_config.json")},
        tokenizer=("llama3.1", LLAMA3_STANDIN), licence="Llama 3.2 Community License"),
    "microsoft--phi-4": dict(files={
        "config.json": ("git", *PHI4, "phi-4/config.json"),
        "generation_config.json": ("git", *PHI4, "phi-4/generation_config.json"),
        "tokenizer_config.json": ("git", *PHI4, "phi-4/tokenizer_config.json")},
        tokenizer=("cl100k", PHI4_STANDIN), licence="MIT"),
    # meta-llama/Llama-3.2-1B-Instruct as re-saved by transformers 4.47.1 in float16 (its _name_or_path).
    "meta-llama--Llama-3.2-1B-Instruct": dict(files={
        "config.json": ("git", *LLAMA32_1B_IT, "models/Llama-3.2-1B-Instruct/config.json"),
        "generation_config.json": ("git", *LLAMA32_1B_IT, "models/Llama-3.2-1B-Instruct/generation_config.json"),
        "tokenizer_config.json": ("git", *LLAMA32_1B_IT, "models/Llama-3.2-1B-Instruct/tokenizer_config.json")},
        tokenizer=("llama3.1", LLAMA3_STANDIN), licence="Llama 3.2 Community License"),
    # Qwen/Qwen2.5-0.5B-Instruct as re-saved by transformers 4.49.0 in float32 (its _name_or_path).
    "Qwen--Qwen2.5-0.5B-Instruct": dict(files={
        "config.json": ("git", *QWEN25_05B_IT, "models/Qwen2.5-0.5B-Instruct/config.json"),
        "generation_config.json": ("git", *QWEN25_05B_IT, "models/Qwen2.5-0.5B-Instruct/generation_config.json"),
        "tokenizer_config.json": ("git", *QWEN25_05B_IT, "models/Qwen2.5-0.5B-Instruct/tokenizer_config.json")},
        tokenizer=("qwen3", QWEN25_STANDIN), licence="Apache-2.0"),
    # Qwen/Qwen2.5-1.5B-Instruct as re-saved by transformers 5.1.0 in float16: rope_parameters instead of
    # rope_theta, layer_types written out, the chat template in chat_template.jinja.
    "Qwen--Qwen2.5-1.5B-Instruct": dict(files={
        "config.json": ("git", *QWEN25_15B_IT, "models/Qwen2.5-1.5B-Instruct/config.json"),
        "generation_config.json": ("git", *QWEN25_15B_IT, "models/Qwen2.5-1.5B-Instruct/generation_config.json"),
        "tokenizer_config.json": ("git", *QWEN25_15B_IT, "models/Qwen2.5-1.5B-Instruct/tokenizer_config.json"),
        "chat_template.jinja": ("git", *QWEN25_15B_IT, "models/Qwen2.5-1.5B-Instruct/chat_template.jinja")},
        tokenizer=("qwen3", QWEN25_STANDIN), licence="Apache-2.0"),
    # microsoft/phi-2 as re-saved by transformers 4.38.2 in float32 (its _name_or_path).
    "microsoft--phi-2": dict(files={
        "config.json": ("git", *PHI2, "models/phi-2/config.json"),
        "generation_config.json": ("git", *PHI2, "models/phi-2/generation_config.json")},
        tokenizer=None, licence="MIT"),
    "unsloth--gpt-oss-20b": dict(files={
        "config.json": ("md-section", *WARPIO, "warpio-docs/ai-docs/model_cards/gpt-oss:20b.md", "## config.json")},
        tokenizer=None, licence="Apache-2.0"),
}


def git_show(mirrors, repo, commit, path):
    git_dir = os.path.join(mirrors, repo.replace("/", "+"), "repo")
    return subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{path}"], check=True, capture_output=True).stdout


def md_section(text, heading):
    """The JSON object that follows the line `heading` (the first '{' after it, to its matching '}')."""
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == heading)
    body = "\n".join(lines[start + 1:])
    begin = body.index("{")
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(body[begin:], begin):
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped: in_string = False
            continue
        if ch == '"': in_string = True
        elif ch == "{": depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return body[begin:i + 1] + "\n"
    raise ValueError(f"no end of the object after {heading}")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main(mirrors, only=()):
    notice = []
    for folder, spec in REPOS.items():
        if only and folder not in only: continue
        target = os.path.join(OUT, folder)
        os.makedirs(target, exist_ok=True)
        for name, (kind, repo, commit, path, *rest) in spec["files"].items():
            raw = git_show(mirrors, repo, commit, path)
            data = md_section(raw.decode("utf-8"), rest[0]).encode("utf-8") if kind == "md-section" else raw
            if name.endswith(".json") or kind == "git-gzip" and path.endswith(".json"): json.loads(data)
            if kind == "git-gzip": data = gzip.compress(data, mtime=0)
            with open(os.path.join(target, name), "wb") as f: f.write(data)
            where = f"{repo}@{commit[:12]}:{path}" + (f" (the object under '{rest[0]}')" if kind == "md-section" else "")
            notice.append((folder, name, where, spec["licence"]))
        if spec["tokenizer"]:
            shared, basis = spec["tokenizer"]
            with gzip.open(os.path.join(TOKENIZERS, shared, "tokenizer.json.gz"), "rb") as f: digest = sha256(f.read())
            ref = {"tokenizer": f"tokenizers/{shared}", "sha256": digest, "basis": basis}
            with open(os.path.join(target, "tokenizer.ref"), "w") as f: f.write(json.dumps(ref, indent=2) + "\n")
    for row in notice: print(" | ".join(row))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
