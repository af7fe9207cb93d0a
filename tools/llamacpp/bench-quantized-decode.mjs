// llama.cpp's decode speed and memory on one GGUF file, in the protocol of QuantTune's `quantized-decode` benchmark
// (bench/QuantTune.Bench/QuantizedDecodeBenchmark.cs): a 16-token prompt, 32 greedy new tokens with no stop token,
// tokens/s counted from the first new token to the last, one warm-up run, then the median of 3; at 2 threads and 1.
// Memory: this process's resident set after loading and its peak (VmHWM), which include node itself (its baseline
// before llama.cpp is loaded is reported beside them).
//
// Command (from the repository root):
//   (cd tools/llamacpp && npm install --ignore-scripts --omit=optional)
//   node tools/llamacpp/bench-quantized-decode.mjs --model FILE.gguf [--repeats 3]
// Writes bench/results/llamacpp-quantized-decode.json. Tokens pass through node-llama-cpp's JavaScript sequence API
// one at a time, so its per-token overhead is counted against llama.cpp.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { cpuLlama, llamaCppVersion, THREADS } from "./llama.mjs";

const root = resolve(import.meta.dirname, "..", "..");
const argument = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const MODEL = argument("--model", null), REPEATS = Number(argument("--repeats", "3")), PROMPT_TOKENS = 16, NEW_TOKENS = 32;
if (!MODEL) { console.error("usage: node tools/llamacpp/bench-quantized-decode.mjs --model FILE.gguf [--repeats 3]"); process.exit(2); }

const status = (key) => Number(readFileSync("/proc/self/status", "utf8").match(new RegExp(`${key}:\\s+(\\d+) kB`))[1]) * 1024;
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").trim();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const baseline = status("VmRSS");
const llama = await cpuLlama();
const model = await llama.loadModel({ modelPath: MODEL, gpuLayers: 0 });
const afterLoad = status("VmRSS");
const prompt = model.tokenize(readFileSync(join(root, "assets/data/wikitext-2/wiki.test.raw"), "utf8").slice(0, 2000), false).slice(0, PROMPT_TOKENS);

const rows = [];
for (const threads of [THREADS, 1]) {
    const ctx = await model.createContext({ contextSize: 256, threads: { ideal: threads, min: threads }, flashAttention: false });
    const seq = ctx.getSequence();
    const perSecond = [], prompts = [];
    const loadBefore = loadAverage();
    for (let run = 0; run < 1 + REPEATS; run++) {
        await seq.clearHistory();
        const t0 = performance.now();
        let first = 0, count = 0;
        for await (const _ of seq.evaluate(prompt, { temperature: 0 })) {
            if (count++ === 0) first = performance.now();
            if (count === NEW_TOKENS) break;
        }
        if (run === 0) continue;
        perSecond.push((count - 1) / ((performance.now() - first) / 1000));
        prompts.push((first - t0) / 1000);
        console.error(`llama.cpp, ${threads} thread(s), run ${run}: ${perSecond.at(-1).toFixed(2)} tokens/s`);
    }
    rows.push({ threads, decode_tokens_per_s: Math.round(median(perSecond) * 100) / 100, runs_tokens_per_s: perSecond.map((x) => Math.round(x * 100) / 100),
        prompt_and_first_token_s: Math.round(median(prompts) * 1000) / 1000, load_average_before: loadBefore, load_average_after: loadAverage() });
    await ctx.dispose();
}
const result = {
    benchmark: "llamacpp-quantized-decode",
    command: `node tools/llamacpp/bench-quantized-decode.mjs --model ${MODEL} --repeats ${REPEATS}`,
    llama_cpp: llamaCppVersion(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10, date: new Date().toISOString() },
    results: { model: MODEL, prompt_tokens: prompt.length, new_tokens: NEW_TOKENS, repeats: REPEATS,
        node_baseline_rss_bytes: baseline, rss_after_load_bytes: afterLoad, peak_rss_bytes: status("VmHWM"), rows },
};
await model.dispose();
writeFileSync(join(root, "bench/results/llamacpp-quantized-decode.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(rows.map((r) => [r.threads, r.decode_tokens_per_s])), result.results.peak_rss_bytes);
