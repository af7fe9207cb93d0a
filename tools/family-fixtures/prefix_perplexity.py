"""Adds a perplexity on the first 8,193 tokens of WikiText-2 test to the reference.json of a
checkpoint whose references transformers computed (tiny-llama, tiny-qwen2), so that the parity
test need not score the whole file (383,283 tokens, minutes on CI's two cores).

The value comes from numpy_forward.py, the NumPy port of transformers' modeling code. That port
first scores the whole file and must reproduce transformers' own whole-file perplexity (the
reference.json's "perplexity" block) to 1e-6 relative; both figures are recorded next to the prefix value.

Run from the repository root (tokenize.js: see make_fixtures.py). The whole file in float64 takes
about a minute with OpenBLAS (apt-get install libopenblas0-pthread, then
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread) and most of an hour with the reference BLAS:
  node tools/family-fixtures/tokenize.js assets/models/tiny-llama/tokenizer.json assets/data/wikitext-2/wiki.test.raw /tmp/llama-ids.json
  /usr/bin/python3 tools/family-fixtures/prefix_perplexity.py assets/models/tiny-llama /tmp/llama-ids.json
  node tools/family-fixtures/tokenize.js tests/fixtures/tiny-qwen2/tokenizer.json assets/data/wikitext-2/wiki.test.raw /tmp/qwen2-ids.json
  /usr/bin/python3 tools/family-fixtures/prefix_perplexity.py tests/fixtures/tiny-qwen2 /tmp/qwen2-ids.json
"""
import glob, json, os, struct, sys
import numpy as np
from numpy_forward import Family
from make_fixtures import perplexity, PERPLEXITY_TOKENS


def load_safetensors(folder):
    """Every tensor of every *.safetensors shard in the folder, as float64 (BF16 widened exactly)."""
    tensors = {}
    for path in sorted(glob.glob(os.path.join(folder, "model*.safetensors"))):
        data = open(path, "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        body = data[8 + n:]
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            raw = body[begin:end]
            if info["dtype"] == "BF16":
                a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
            elif info["dtype"] == "F32":
                a = np.frombuffer(raw, dtype=np.float32)
            else:
                raise SystemExit(f"{path}: {name} has dtype {info['dtype']}; expected BF16 or F32")
            tensors[name] = a.reshape(info["shape"]).astype(np.float64)
    return tensors


def main():
    folder, ids_file = sys.argv[1], sys.argv[2]
    config = json.load(open(os.path.join(folder, "config.json")))
    reference_file = os.path.join(folder, "reference.json")
    reference = json.load(open(reference_file))
    f, w = Family(config), load_safetensors(folder)
    wiki = np.array(json.load(open(ids_file))["wiki"], dtype=np.int64)
    whole, predicted = perplexity(f, w, wiki)
    transformers_value = reference["perplexity"]["value"]
    print(f"whole file: NumPy {whole:.10f} over {predicted} tokens, transformers {transformers_value:.10f}")
    if predicted != reference["perplexity"]["predicted_tokens"] or abs(whole - transformers_value) / transformers_value > 1e-6:
        raise SystemExit("the NumPy port does not reproduce transformers' whole-file perplexity; not writing a prefix value")
    prefix, prefix_predicted = perplexity(f, w, wiki[:PERPLEXITY_TOKENS])
    print(f"first {PERPLEXITY_TOKENS} tokens: {prefix:.10f} over {prefix_predicted} tokens")
    reference["perplexity_prefix"] = {
        "computed_by": "tools/family-fixtures/prefix_perplexity.py (numpy_forward.py, a NumPy port of transformers' modeling code, float64)",
        "data": "wiki.test.raw", "tokens": PERPLEXITY_TOKENS,
        "tokenizer": "this folder's tokenizer.json (npm tokenizers 0.23.2), no BOS",
        "protocol": "the first `tokens` tokens; otherwise as in \"perplexity\"",
        "value": prefix, "predicted_tokens": prefix_predicted,
        "whole_file_check": {"numpy": whole, "transformers": transformers_value, "predicted_tokens": predicted},
    }
    json.dump(reference, open(reference_file, "w"), indent=2)
    print(f"written to {reference_file}")


if __name__ == "__main__":
    main()
