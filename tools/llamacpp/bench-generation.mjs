// llama.cpp's decode speed on tiny-llama's GGUF exports (F32 and Q4_K_M), 2 threads, CPU only, in the protocol of
// QuantTune's `generation` benchmark (bench/QuantTune.Bench/GenerationBenchmark.cs): the prompt is the first 128
// tokens of WikiText-2 test, 64 new greedy tokens with no stop token, tokens/s counted from the first new token to
// the last, 2 warm-up runs, then the median of 4 (the upper middle of the sorted runs, as the C# benchmark takes).
// Writes bench/results/llamacpp-generation.json with the load average around each row and the ratio to the
// committed QuantTune figures in bench/results/generation.json.
//
// Command (from the repository root, after `dotnet build src/QuantTune.Cli -c Release`):
//   (cd tools/llamacpp && npm install --ignore-scripts --omit=optional) && node tools/llamacpp/bench-generation.mjs [--repeats 4]
// Tokens pass through node-llama-cpp's JavaScript sequence API one at a time, so its per-token overhead is counted
// against llama.cpp (the figures are a lower bound of llama-cli's).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { cpuLlama, llamaCppVersion, THREADS } from "./llama.mjs";

const root = resolve(import.meta.dirname, "..", "..");
const cli = join(root, "src/QuantTune.Cli/bin/Release/net10.0/QuantTune.Cli.dll");
const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : fallback; };
const PROMPT_TOKENS = arg("--prompt-tokens", 128), NEW_TOKENS = arg("--new-tokens", 64), REPEATS = arg("--repeats", 4), WARM_UPS = 2;

const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const work = mkdtempSync(join(tmpdir(), "qt-llamacpp-bench-"));
const llama = await cpuLlama();
const wiki = readFileSync(join(root, "assets/data/wikitext-2/wiki.test.raw"), "utf8");

async function row(type, threads) {
    const started = performance.now();
    const gguf = join(work, `tiny-llama-${type}.gguf`);
    execFileSync("dotnet", [cli, "export", "gguf", "--model", "assets/models/tiny-llama", "--out", gguf, "--type", type], { cwd: root, stdio: "ignore" });
    const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
    const prompt = model.tokenize(wiki.slice(0, 4000), false).slice(0, PROMPT_TOKENS);
    const ctx = await model.createContext({ contextSize: 512, threads: { ideal: threads, min: threads }, flashAttention: false });
    const seq = ctx.getSequence();
    console.error(`llama.cpp generation: tiny-llama ${type}, ${threads} thread(s) (exported and loaded in ${((performance.now() - started) / 1000).toFixed(1)} s)...`);
    const loadBefore = loadAverage();
    const perSecond = [], prompts = [];
    for (let run = 0; run < WARM_UPS + REPEATS; run++) {
        await seq.clearHistory();
        const t0 = performance.now();
        let first = 0, count = 0;
        for await (const _ of seq.evaluate(prompt, { temperature: 0 })) {
            if (count++ === 0) first = performance.now();
            if (count === NEW_TOKENS) break;
        }
        const decode = (performance.now() - first) / 1000;
        if (run < WARM_UPS) continue;
        perSecond.push((count - 1) / decode);
        console.error(`  run ${run - WARM_UPS + 1}: ${((count - 1) / decode).toFixed(1)} tokens/s, prompt ${((first - t0)).toFixed(1)} ms`);
        prompts.push((first - t0) / 1000);
    }
    await ctx.dispose();
    await model.dispose();
    perSecond.sort((a, b) => a - b);
    prompts.sort((a, b) => a - b);
    const median = perSecond[Math.floor(perSecond.length / 2)];
    const r1 = (x) => Math.round(x * 10) / 10, r2 = (x) => Math.round(x * 100) / 100;
    return {
        model: `tiny-llama GGUF ${type.toUpperCase()} (QuantTune export)`, path: "llama.cpp, greedy", threads, prompt_tokens: prompt.length, new_tokens: NEW_TOKENS,
        decode_tokens_per_s: r1(median), decode_ms_per_token: r2(1000 / median),
        prompt_pass_and_first_token_ms: r2(prompts[Math.floor(prompts.length / 2)] * 1000),
        slowest_run_tokens_per_s: r1(perSecond[0]), fastest_run_tokens_per_s: r1(perSecond.at(-1)),
        load_average_before: loadBefore, load_average_after: loadAverage(),
    };
}

const systemInfo = llama.systemInfo;
// 2 threads is the comparison; 1 thread is the control: ggml's threads spin at a barrier after every op, so on a
// shared 2-core machine (load average above 2) a descheduled second thread stalls the first, which one thread avoids.
const rows = [];
for (const type of ["f32", "q4_k_m"]) for (const threads of [THREADS, 1]) rows.push(await row(type, threads));
await llama.dispose();

// The ratio to QuantTune's own committed figures (measured at another time, under another load).
const ours = join(root, "bench/results/generation.json");
let ratio = null;
if (existsSync(ours)) {
    const g = JSON.parse(readFileSync(ours, "utf8"));
    const fp32 = g.results.rows.find((r) => r.model === "tiny-llama fp32" && r.path === "kv-cache, greedy");
    if (fp32) ratio = {
        quanttune: { source: "bench/results/generation.json", date: g.machine.date, row: "tiny-llama fp32, kv-cache, greedy", decode_tokens_per_s: fp32.decode_tokens_per_s, load_average_before: fp32.load_average_before },
        // QuantTune reads a Q4_K_M file back dequantized to fp32, so its fp32 speed is what it gives that file.
        ...Object.fromEntries(rows.map((r) => [`llama.cpp ${r.model.split(" ")[2]} ${r.threads} thread(s) / QuantTune fp32 2 threads`,
            Math.round((r.decode_tokens_per_s / fp32.decode_tokens_per_s) * 100) / 100])),
    };
}

const result = {
    benchmark: "llamacpp-generation",
    command: `node tools/llamacpp/bench-generation.mjs --prompt-tokens ${PROMPT_TOKENS} --new-tokens ${NEW_TOKENS} --repeats ${REPEATS}`,
    llama_cpp: llamaCppVersion(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10, threads: THREADS, gpu: false, system_info: systemInfo, date: new Date().toISOString() },
    results: { prompt: `the first ${PROMPT_TOKENS} tokens of wiki.test.raw`, new_tokens: NEW_TOKENS, repeats: REPEATS, warm_ups: WARM_UPS, rows },
    ratio_to_quanttune: ratio,
};
writeFileSync(join(root, "bench/results/llamacpp-generation.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(rows.map((r) => [r.model, r.threads, r.decode_tokens_per_s, r.load_average_before]), null, 0), ratio && JSON.stringify(ratio));
