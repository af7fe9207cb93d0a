// What llama.cpp (node-llama-cpp 3.22.1's prebuilt CPU binary, 2 threads, offline) says about the GGUF
// files QuantTune's CLI exports from the tiny fixtures: that it loads them, how it tokenizes fixed
// texts, its logits for the fixture's reference sequence input_ids.0, its greedy continuation of the
// reference prompt and its perplexity on a WikiText-2 test prefix in QuantTune's protocol. One JSON
// per file under tests/fixtures/llamacpp/, read by tests/QuantTune.Tests/Formats/Gguf/LlamaCppReferenceTests.cs.
//
// Command (from the repository root, after `dotnet build src/QuantTune.Cli -c Release`):
//   (cd tools/llamacpp && npm install --ignore-scripts --omit=optional) && node tools/llamacpp/check-gguf.mjs
// Optional arguments: names of cases to run (e.g. `tiny-llama-q8_0`); default all.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuLlama, llamaCppVersion, readSafetensors, THREADS } from "./llama.mjs";

const root = resolve(import.meta.dirname, "..", "..");
const cli = join(root, "src/QuantTune.Cli/bin/Release/net10.0/QuantTune.Cli.dll");
const outDir = join(root, "tests/fixtures/llamacpp");

/** The exported files: fixture folder, file type, case name. */
const CASES = [
    ["assets/models/tiny-llama", "F32"],
    ["assets/models/tiny-llama", "Q8_0"],
    ["assets/models/tiny-llama", "Q4_K_M"],
    ["tests/fixtures/tiny-qwen2", "F32"],
    ["tests/fixtures/tiny-qwen3", "F32"],
    ["tests/fixtures/tiny-gemma2", "F32"],
    // llama.cpp's gemma3 scales attention by 1/sqrt(head_dim) whatever query_pre_attn_scalar says, so QuantTune refuses
    // the fixture's 24 (head_dim 32); llama.cpp checks a copy with query_pre_attn_scalar = head_dim.
    ["tests/fixtures/tiny-gemma3", "F32", { query_pre_attn_scalar: 32 }],
    // llama.cpp picks LongRoPE's long factors by the context it allocates (512 > the fixture's original 48), transformers
    // and QuantTune by each pass's last position (the 28-token greedy run stays short); with an original context of 2
    // every pass of both takes the long factors (and an attention factor of √(1 + ln(1024 / 2) / ln 2)).
    ["tests/fixtures/tiny-phi3", "F32", { original_max_position_embeddings: 2 }],
    // GPT-2: learned positions (256 rows), LayerNorms with biases, c_attn as attn_qkv.
    ["tests/fixtures/tiny-gpt2", "F32"],
    // Qwen3.5 as qwen35: Gated DeltaNet layers (ssm_* tensors, value heads reordered for ggml's broadcast) around gated
    // attention with interleaved M-RoPE sections. llama.cpp's qwen35 takes the value head size from ssm.state_size (the
    // key head size), so tiny-qwen3.5 (value heads 24, key heads 16) is refused by export (recorded); tiny-qwen3.5-gguf
    // is the same model with value heads of 16.
    ["tests/fixtures/tiny-qwen3.5", "F32"],
    ["tests/fixtures/tiny-qwen3.5-gguf", "F32"],
    ["tests/fixtures/tiny-qwen3.5-gguf", "Q8_0"],
    // OLMo 2 as olmo2: norms after attention and the MLP (post_attention_norm, post_ffw_norm), q/k norms over the whole
    // projections; llama.cpp's olmo2 requires output.weight, so the tied head is written as one.
    ["tests/fixtures/tiny-olmo2", "F32"],
    ["tests/fixtures/tiny-olmo2", "Q8_0"],
    // SmolLM3 as smollm3 (q/k rows permuted as Llama's): llama.cpp leaves RoPE out of every fourth layer and reads no key
    // for another list, so tiny-smollm3 (no RoPE in layers 1 and 3) is refused by export (recorded); tiny-smollm3-gguf
    // is the same model without RoPE in layer 3 only.
    ["tests/fixtures/tiny-smollm3", "F32"],
    ["tests/fixtures/tiny-smollm3-gguf", "F32"],
    // Granite as granite: attention.scale, embedding_scale, residual_scale and logit_scale (the logits divided by it).
    ["tests/fixtures/tiny-granite", "F32"],
    ["tests/fixtures/tiny-granite", "Q8_0"],
    // StableLM as stablelm: LayerNorms with biases, NEOX RoPE on 8 of 32 dimensions, q/k/v biases; the tied head written
    // as output.weight (llama.cpp's stablelm requires it).
    ["tests/fixtures/tiny-stablelm", "F32"],
    // Qwen3-MoE as qwen3moe: each layer's router as ffn_gate_inp (F32) and its experts stacked into ffn_{gate,up,down}_exps.
    // llama.cpp's qwen3moe requires the experts in every layer, so tiny-qwen3-moe (layer 1 dense) is refused by export
    // (recorded); tiny-qwen3-moe-gguf is the same model with every layer sparse.
    ["tests/fixtures/tiny-qwen3-moe", "F32"],
    ["tests/fixtures/tiny-qwen3-moe-gguf", "F32"],
    ["tests/fixtures/tiny-qwen3-moe-gguf", "Q8_0"],
    // Qwen2-MoE as qwen2moe: as qwen3moe plus the shared expert (ffn_*_shexp) behind its gate ffn_gate_inp_shexp, routing
    // weights not renormalized, the tied head written as output.weight (llama.cpp's qwen2moe requires it); tiny-qwen2-moe-gguf
    // is tiny-qwen2-moe with every layer sparse.
    ["tests/fixtures/tiny-qwen2-moe", "F32"],
    ["tests/fixtures/tiny-qwen2-moe-gguf", "F32"],
    ["tests/fixtures/tiny-qwen2-moe-gguf", "Q8_0"],
    // Mixtral as llama (the converter's LlamaModel takes MixtralForCausalLM): expert_count and expert_used_count, each layer's
    // router as ffn_gate_inp (F32) and its experts' w1/w3/w2 stacked into ffn_{gate,up,down}_exps. llama.cpp's llama has no
    // sliding window, so tiny-mixtral (a 16-token window) is refused by export (recorded); tiny-mixtral-gguf is the same
    // model without one.
    ["tests/fixtures/tiny-mixtral", "F32"],
    ["tests/fixtures/tiny-mixtral-gguf", "F32"],
    ["tests/fixtures/tiny-mixtral-gguf", "Q8_0"],
].map(([fixture, type, configPatch]) => ({ fixture, type, configPatch, name: `${fixture.split("/").pop()}-${type.toLowerCase()}` }));

/** Texts whose tokenization is compared: digits, punctuation, spaces, accents, CJK and emoji (outside the BMP). */
export const TEXTS = [
    "The history of the",
    "Hello, world! It's 2026: 3.14159 and 1,234,567 items.",
    "  two leading spaces\tand a tab\n\nnew paragraph",
    "naïve café, Zürich — “quotes” … 日本語のテキスト 😀🎉 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    " = Valkyria Chronicles III = \n",
];

/** The WikiText-2 test prefix scored for perplexity: the first 40,000 characters, then the first 4,097 tokens, windows of 256. */
export const PPL = { chars: 40_000, tokens: 4097, window: 256 };
/** Positions of input_ids.0 whose full logits rows are recorded. */
const FULL_ROWS = [0, 63];
const NEW_TOKENS = 24;

const round = (x) => Number(x.toPrecision(7));

async function check(llama, c, work) {
    const gguf = join(work, `${c.name}.gguf`);
    const exportOf = (folder) => {
        const args = ["export", "gguf", "--model", folder, "--out", gguf, "--type", c.type.toLowerCase()];
        try {
            execFileSync("dotnet", [cli, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
            return { args, error: null };
        } catch (e) {
            return { args, error: (e.stdout?.toString() + e.stderr?.toString() || e.message).trim() };
        }
    };
    let { args: exportArgs, error: exportError } = exportOf(c.fixture);
    let patched = null;
    if (c.configPatch) {
        // The fixture as given may be refused (recorded); the patched copy is the file llama.cpp checks.
        patched = { ...(exportError ? { refused_as_given: exportError } : {}), config_patch: c.configPatch };
        // llama.cpp's vocabulary loader applies Phi-3's SentencePiece token rules (</s>, <unk>, <s>) to any file whose
        // general.name (the folder's name) contains "phi3" and aborts (_Map_base::at) when they are missing, as in this
        // fixture's byte-level vocabulary (and Phi-4's), so the copy is named without it.
        const copy = join(work, c.name.replace("phi3", "phi-mini"));
        cpSync(join(root, c.fixture), copy, { recursive: true });
        const config = JSON.parse(readFileSync(join(copy, "config.json"), "utf8"));
        writeFileSync(join(copy, "config.json"), JSON.stringify({ ...config, ...c.configPatch }, null, 2));
        ({ args: exportArgs, error: exportError } = exportOf(copy));
        exportArgs = exportArgs.map((a) => (a === copy ? `<copy of ${c.fixture} with config_patch>` : a));
    }
    const result = {
        case: c.name, fixture: c.fixture, file_type: c.type, ...(patched ?? {}),
        export_command: `dotnet src/QuantTune.Cli/bin/Release/net10.0/QuantTune.Cli.dll ${exportArgs.join(" ").replace(gguf, `${c.name}.gguf`)}`,
        llama_cpp: llamaCppVersion(),
        command: "node tools/llamacpp/check-gguf.mjs " + c.name,
        threads: THREADS, kv_cache: "F32", flash_attention: false,
        system_info: llama.systemInfo,
    };
    if (exportError) return { ...result, exported: false, export_error: exportError };

    let model;
    try {
        model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0, useMmap: false });
    } catch (e) {
        return { ...result, loads: false, load_error: String(e.message ?? e) };
    }
    const meta = model.fileInfo.metadata;
    const arch = meta.general.architecture;
    // An F32 KV cache (llama.cpp's default is F16) so that the values show the file, not the cache's rounding.
    const ctx = await model.createContext({ contextSize: 512, batchSize: 512, threads: { ideal: THREADS, min: THREADS }, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
    const seq = ctx.getSequence();

    /** llama.cpp's next-token logits after each of `ids` (fresh sequence): a Map per position, or only `filterAt(i)`'s ids plus the top one.
     *  (includeTop: 1, not includeMax, which node-llama-cpp 3.22.1's addon adds only when the max is already in the filter.) */
    async function logitsAfter(ids, filterAt) {
        await seq.clearHistory();
        const input = ids.map((t, i) => [t, { generateNext: filterAt ? { logits: { filter: { tokens: filterAt(i), includeTop: 1 } }, totalLogitWeight: true } : { logits: true } }]);
        const out = await seq.controlledEvaluate(input);
        return out.map((o) => o.next);
    }

    // Tokenization (no special-token parsing, no BOS: as QuantTune's Encode).
    const tokenization = TEXTS.map((text) => ({ text, ids: model.tokenize(text, false) }));

    // Logits on the reference sequence.
    const ref = readSafetensors(join(root, c.fixture, "reference.safetensors"));
    const inputIds = ref["input_ids.0"].data;
    const refLogits = ref["logits.0"].data;
    const next = await logitsAfter(inputIds);
    const nVocab = next[0].logits.size;
    let maxAbs = 0;
    const rows = {};
    const argmax = [];
    const nextLogprob = [];
    for (let i = 0; i < inputIds.length; i++) {
        const row = new Float64Array(nVocab);
        for (const [t, v] of next[i].logits) row[t] = v;
        for (let t = 0; t < nVocab; t++) maxAbs = Math.max(maxAbs, Math.abs(row[t] - refLogits[i * nVocab + t]));
        argmax.push(next[i].logits.keys().next().value);
        if (FULL_ROWS.includes(i)) rows[i] = Array.from(row, round);
        if (i + 1 < inputIds.length) {
            const m = Math.max(...row);
            const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
            nextLogprob.push(round(row[inputIds[i + 1]] - lse));
        }
    }

    // Greedy continuation of the reference prompt (argmax of llama.cpp's logits, one token at a time).
    const refJson = JSON.parse(readFileSync(join(root, c.fixture, "reference.json"), "utf8"));
    const prompt = refJson.greedy_generation.prompt;
    const promptIds = refJson.greedy_generation.prompt_ids;
    await seq.clearHistory();
    const greedy = [...promptIds];
    let pending = promptIds.map((t, i) => (i === promptIds.length - 1 ? [t, { generateNext: { logits: { filter: { tokens: [], includeTop: 1 } } } }] : t));
    for (let n = 0; n < NEW_TOKENS; n++) {
        const out = await seq.controlledEvaluate(pending);
        const best = out[pending.length - 1].next.logits.keys().next().value;
        greedy.push(best);
        pending = [[best, { generateNext: { logits: { filter: { tokens: [], includeTop: 1 } } } }]];
    }

    // Perplexity on the WikiText-2 test prefix, non-overlapping windows (PerplexityEvaluator's protocol).
    const wiki = readFileSync(join(root, "assets/data/wikitext-2/wiki.test.raw"), "utf8").slice(0, PPL.chars);
    const pplIds = model.tokenize(wiki, false).slice(0, PPL.tokens);
    let nll = 0, predicted = 0;
    for (let start = 0; start < pplIds.length - 1; start += PPL.window) {
        const len = Math.min(PPL.window, pplIds.length - 1 - start);
        const win = pplIds.slice(start, start + len);
        const outs = await logitsAfter(win, (i) => [pplIds[start + i + 1]]);
        for (let i = 0; i < len; i++) {
            const o = outs[i];
            const max = Math.max(...o.logits.values());
            nll -= o.logits.get(pplIds[start + i + 1]) - max - Math.log(o.totalLogitWeight);
            predicted++;
        }
    }
    const description = model.typeDescription, bos = model.tokens.bos, eos = model.tokens.eos;
    const promptIdsLlamaCpp = model.tokenize(prompt, false);
    await ctx.dispose();
    await model.dispose();

    return {
        ...result,
        loads: true,
        architecture: arch,
        model_description: description,
        n_vocab: nVocab,
        n_layer: meta[arch].block_count,
        bos_id: bos, eos_id: eos,
        tokenization,
        logits: {
            sequence: "reference.safetensors input_ids.0",
            max_abs_diff_vs_reference_logits: round(maxAbs),
            argmax_ids: argmax,
            next_token_logprobs: nextLogprob,
            rows: Object.fromEntries(Object.entries(rows).map(([i, r]) => [`position_${i}`, r])),
        },
        greedy: { prompt, prompt_ids_llamacpp: promptIdsLlamaCpp, prompt_ids: promptIds, max_new_tokens: NEW_TOKENS, output_ids: greedy },
        perplexity: {
            data: "assets/data/wikitext-2/wiki.test.raw", protocol: `first ${PPL.chars} characters, tokenized by llama.cpp without BOS, first ${PPL.tokens} tokens; non-overlapping windows of ${PPL.window}, each predicting its next tokens; mean NLL over all predicted tokens`,
            ids: pplIds,
            predicted_tokens: predicted, value: Math.exp(nll / predicted),
        },
    };
}

const wanted = process.argv.slice(2);
const llama = await cpuLlama();
const work = mkdtempSync(join(tmpdir(), "qt-llamacpp-"));
mkdirSync(outDir, { recursive: true });
for (const c of CASES.filter((c) => wanted.length === 0 || wanted.includes(c.name))) {
    const t0 = Date.now();
    const r = await check(llama, c, work);
    writeFileSync(join(outDir, `${c.name}.json`), JSON.stringify(r, null, 1) + "\n");
    const summary = r.loads ? `loads (${r.architecture}, n_vocab ${r.n_vocab}, n_layer ${r.n_layer}); logits max|Δ| ${r.logits.max_abs_diff_vs_reference_logits}; ppl ${r.perplexity.value.toFixed(4)}`
        : r.exported === false ? `export failed: ${r.export_error.split("\n")[0]}` : `llama.cpp refused it: ${r.load_error}`;
    console.log(`${c.name}: ${summary} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
await llama.dispose();
