// Shared setup for the llama.cpp reference scripts: node-llama-cpp's prebuilt Linux x64 CPU binary,
// offline (no download, no source build), CPU only, 2 threads, and the llama.cpp release it bundles.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

export const THREADS = 2;

/** node-llama-cpp's version and the llama.cpp release its prebuilt binary was built from. */
export function llamaCppVersion() {
    const modules = join(import.meta.dirname, "node_modules");
    const nodeLlamaCpp = JSON.parse(readFileSync(join(modules, "node-llama-cpp", "package.json"), "utf8")).version;
    const binDir = join(modules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64");
    const meta = JSON.parse(readFileSync(join(binDir, "_nlcBuildMetadata.json"), "utf8"));
    return {
        "node-llama-cpp": nodeLlamaCpp,
        binary: "@node-llama-cpp/linux-x64 (prebuilt, gpu: false)",
        "llama.cpp": `${meta.buildOptions.llamaCpp.repo} release ${meta.buildOptions.llamaCpp.release}`,
        // node-llama-cpp ships the release's source as a one-commit (squashed) git bundle, so the build
        // number is 1 and the commit is that squash's, not an upstream hash (libllama-common's llama_build_info).
        source: "node-llama-cpp/llama/gitRelease.bundle: squashed commit de3ff815ea7d559ee917f063901b8986f038abc6 dated 2026-09-28",
        build_info: "b1-0ad4a86",
    };
}

/** llama.cpp on the CPU, without any network access or local build. */
export async function cpuLlama() {
    process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = "true";
    return getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error, maxThreads: THREADS });
}

/** The tensors of a safetensors file by name: { dtype, shape, data (typed array) }. */
export function readSafetensors(path) {
    const buf = readFileSync(path);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
    const out = {};
    for (const [name, t] of Object.entries(header)) {
        if (name === "__metadata__") continue;
        const [a, b] = t.data_offsets;
        const bytes = buf.subarray(8 + n + a, 8 + n + b);
        const copy = new Uint8Array(bytes).buffer;
        const data = t.dtype === "F32" ? new Float32Array(copy) : t.dtype === "I64" ? Array.from(new BigInt64Array(copy), Number)
            : t.dtype === "I32" ? new Int32Array(copy) : null;
        if (data === null) throw new Error(`${path}: tensor ${name} has dtype ${t.dtype}; expected F32, I64 or I32`);
        out[name] = { dtype: t.dtype, shape: t.shape, data };
    }
    return out;
}
