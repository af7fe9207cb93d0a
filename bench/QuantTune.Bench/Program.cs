using System.Text.Json;
using QuantTune.Bench;

// Usage: dotnet run --project bench/QuantTune.Bench -c Release -- BENCHMARK [options] [--out bench/results] [--threads N]
//   foundation:   [--synthetic-gib 1] [--tokens 65536]
//   quantization: [--rows 8192] [--columns 8192]
//   finetune:     [--steps 60] [--batch 8] [--seq 128] [--methods lora,qlora,...] [--dtype fp32,bf16]
//                 (with bf16 among the dtypes: writes finetune-bf16.json, the fp32 rows beside the bf16 ones)
//   bitnet:       [--steps 1000]
//   bitnet-inference: [--steps 200]
//   qst-scale:    --method qst|qlora|qlora-gc|lora-bf16|lora-bf16-gc [--config assets/configs/llama-2-7b.json] [--layers 0=all]
//                 [--batch 4] [--seq 512] [--steps 5] [--warmup 2] [--device cuda|cpu] [--loss chunked|whole]
//                 [--name FILE]; writes qst-scale-METHOD-DEVICE.json (or FILE.json)
//   gguf:         [--hidden 4096] [--mlp 11008] [--repeats 3]
//   ggml-codecs:  [--rows 1024] [--columns 4096]
//   cuda-check:   [--require-cuda] [--rehearse]  CPU vs CUDA on tiny-llama (logits, decoding, NF4, QLoRA/QST steps, optimizers);
//                 writes cuda-check-cuda.json; without CUDA: cuda-check-none.json, exit 2 with --require-cuda, else 0;
//                 --rehearse without CUDA: the CPU against itself, cuda-check-cpu-rehearsal.json
//   generation:   [--prompt-tokens 128] [--new-tokens 64] [--repeats 5]  decode-only tokens/s (tiny-llama fp32, NF4, QST);
//                 with --threads N writes generation-threadsN.json
//   gptq:         [--samples 128] [--seq 512] [--layer-samples 4] [--layer-seq 512]
//   qst-rank:     [--steps 60] [--batch 8] [--seq 128] [--reductions 2,4,8,16] [--qst-lr 3e-2] [--qlora yes|no] [--side-dtypes fp32,bf16] [--dtype fp32|bf16] [--name FILE]:
//                 QST's r against QLoRA, held-out perplexity
//   memory-tracking: [--steps 12] [--batch 8] [--seq 128] [--repeats 2]: LoRA step time with memory tracking always on vs on the measured step only
//   load-peak:    --model DIR [--repeats 2]: peak resident memory of loading DIR in a fresh process each way (fp32; NF4 after the load;
//                 NF4 layer by layer as it is read); writes load-peak.json
//   pytorch-comparison: [--steps 20] [--warmup 3] [--batch 8] [--seq 128] [--repeats 2] (--threads 2 unless given): one LoRA step of the
//                 trainer against plain PyTorch (tools/pytorch-comparison/lora_step.py, /usr/bin/python3) on the same batches; writes pytorch-lora-step.json
string[] Benchmarks = ["foundation", "quantization", "finetune", "bitnet", "gguf", "ggml-codecs", "gptq", "qst-scale", "bitnet-inference", "cuda-check", "generation", "memory-tracking", "pytorch-comparison", "qst-rank", "load-peak"];
var argList = args.ToList();
string Arg(string name, string fallback) { int i = argList.IndexOf(name); return i >= 0 && i + 1 < argList.Count ? argList[i + 1] : fallback; }
var which = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "foundation";
var outDir = Arg("--out", Path.Combine("bench", "results"));
// --threads N: libtorch's intra-op threads (default: libtorch's choice, one per core).
if (Arg("--threads", "") is { Length: > 0 } threads) TorchSharp.torch.set_num_threads(int.Parse(threads));
// The PyTorch comparison runs both sides on 2 threads unless told otherwise (the setting of the issue's figures).
else if (which == "pytorch-comparison") TorchSharp.torch.set_num_threads(2);
// The build output carries a copy of assets/; the GPU bundle (bench/gpu/bundle.sh) leaves it out and runs in the repository root.
var assets = Path.Combine(AppContext.BaseDirectory, "assets");
if (!Directory.Exists(assets)) assets = Path.GetFullPath("assets");
var model = Path.Combine(assets, "models", "tiny-llama");
var text = Path.Combine(assets, "data", "wikitext-2", "wiki.test.raw");

if (which == MemoryTrackingBenchmark.ChildName)
{
    // One run of the memory-tracking benchmark in a fresh process: its row on stdout, no result file.
    Console.WriteLine(JsonSerializer.Serialize(MemoryTrackingBenchmark.RunOne(Arg("--mode", ""), Arg("--model", model), Arg("--data", ""),
        Arg("--scratch", Path.GetTempPath()), int.Parse(Arg("--steps", "12")), int.Parse(Arg("--batch", "8")), int.Parse(Arg("--seq", "128")))));
    return 0;
}

if (which == QuantizedDecodeBenchmark.ChildName)
{
    Console.WriteLine(JsonSerializer.Serialize(QuantizedDecodeBenchmark.RunOne(Arg("--mode", ""), Arg("--model", ""), int.Parse(Arg("--prompt-tokens", "16")), int.Parse(Arg("--new-tokens", "32")), int.Parse(Arg("--repeats", "3")))));
    return 0;
}

if (which == LoadPeakBenchmark.ChildName)
{
    // One load in a fresh process: its row on stdout, no result file.
    Console.WriteLine(JsonSerializer.Serialize(LoadPeakBenchmark.RunOne(Arg("--mode", ""), Arg("--model", model))));
    return 0;
}

object result;
int exitCode = 0;
switch (which)
{
    case "foundation":
        Console.Error.WriteLine("load benchmark...");
        var load = LoadBenchmark.Run(model, Arg("--scratch", Path.GetTempPath()), double.Parse(Arg("--synthetic-gib", "1"), System.Globalization.CultureInfo.InvariantCulture));
        Console.Error.WriteLine("perplexity benchmark...");
        var ppl = PerplexityBenchmark.Run(model, text, int.Parse(Arg("--tokens", "65536")));
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(), load, perplexity_cpu = ppl };
        break;
    case "quantization":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = QuantizationBenchmark.Run(int.Parse(Arg("--rows", "8192")), int.Parse(Arg("--columns", "8192"))) };
        break;
    case "finetune":
        var fineTuneDTypes = Arg("--dtype", "fp32").Split(',');
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = FineTuneBenchmark.Run(model, Path.Combine(assets, "data", "tiny-shakespeare.txt"), Arg("--scratch", Path.GetTempPath()),
                int.Parse(Arg("--steps", "60")), int.Parse(Arg("--batch", "8")), int.Parse(Arg("--seq", "128")),
                Arg("--methods", "") is { Length: > 0 } ms ? ms.Split(',').Select(QuantTune.Training.FineTuning.FineTuneMethods.Parse).ToList() : null,
                fineTuneDTypes) };
        if (fineTuneDTypes.Contains("bf16")) which = "finetune-bf16";
        break;
    case "bitnet":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = BitNetBenchmark.Run(model, Path.Combine(assets, "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt"), Arg("--scratch", Path.GetTempPath()), int.Parse(Arg("--steps", "1000"))) };
        break;
    case "bitnet-inference":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = BitNetInferenceBenchmark.Run(model, Path.Combine(assets, "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt"), text, Arg("--scratch", Path.GetTempPath()), int.Parse(Arg("--steps", "200"))) };
        break;
    case "qst-scale":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = QstScaleBenchmark.Run(Arg("--config", Path.Combine(assets, "configs", "llama-2-7b.json")), Arg("--method", "qst"),
                int.Parse(Arg("--layers", "0")), int.Parse(Arg("--batch", "4")), int.Parse(Arg("--seq", "512")), int.Parse(Arg("--steps", "5")),
                int.Parse(Arg("--warmup", "2")), Arg("--device", TorchSharp.torch.cuda.is_available() ? "cuda" : "cpu"), Arg("--loss", "chunked")) };
        which = Arg("--name", $"qst-scale-{Arg("--method", "qst")}-{Arg("--device", TorchSharp.torch.cuda.is_available() ? "cuda" : "cpu")}");
        break;
    case "cuda-check":
        // --require-cuda (the device session): no CUDA device is a failure (exit 2). Without it, no
        // CUDA device skips cleanly (exit 0, nothing compared). --rehearse without CUDA compares the
        // CPU with itself to exercise the code, labelled cpu-rehearsal.
        bool rehearsal = argList.Contains("--rehearse") && !TorchSharp.torch.cuda.is_available();
        var check = CudaCheck.Run(model, rehearsal);
        if (check.Device == "none")
            Console.Error.WriteLine(argList.Contains("--require-cuda") ? $"cuda-check: {CudaCheck.NoCudaStatus} (--require-cuda): failed" : $"cuda-check: {CudaCheck.NoCudaStatus}: skipped");
        exitCode = check.Failed > 0 ? 1 : check.Device == "none" && argList.Contains("--require-cuda") ? 2 : 0;
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(), results = check };
        which = $"cuda-check-{check.Device}";
        break;
    case "gguf":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = GgufBenchmark.Run(int.Parse(Arg("--hidden", "4096")), int.Parse(Arg("--mlp", "11008")), int.Parse(Arg("--repeats", "3"))) };
        break;
    case "ggml-codecs":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = GgmlCodecBenchmark.Run(int.Parse(Arg("--rows", "1024")), int.Parse(Arg("--columns", "4096"))) };
        break;
    case "generation":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = GenerationBenchmark.Run(model, text, int.Parse(Arg("--prompt-tokens", "128")), int.Parse(Arg("--new-tokens", "64")), int.Parse(Arg("--repeats", "5"))) };
        if (Arg("--threads", "") is { Length: > 0 } generationThreads) which = $"generation-threads{generationThreads}";
        break;
    case "gptq":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = GptqBenchmark.Run(model, Path.Combine(assets, "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt"),
                int.Parse(Arg("--samples", "128")), int.Parse(Arg("--seq", "512")), int.Parse(Arg("--layer-samples", "4")), int.Parse(Arg("--layer-seq", "512"))) };
        break;
    case "memory-tracking":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = MemoryTrackingBenchmark.Run(model, Path.Combine(assets, "data", "tiny-shakespeare.txt"), Arg("--scratch", Path.GetTempPath()),
                int.Parse(Arg("--steps", "12")), int.Parse(Arg("--batch", "8")), int.Parse(Arg("--seq", "128")), int.Parse(Arg("--repeats", "2"))) };
        break;
    case "qst-rank":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = QstRankBenchmark.Run(model, Path.Combine(assets, "data", "tiny-shakespeare.txt"), Arg("--scratch", Path.GetTempPath()),
                int.Parse(Arg("--steps", "60")), int.Parse(Arg("--batch", "8")), int.Parse(Arg("--seq", "128")),
                Arg("--reductions", "2,4,8,16").Split(',').Select(int.Parse).ToList(),
                double.Parse(Arg("--qst-lr", "3e-2"), System.Globalization.CultureInfo.InvariantCulture), withQlora: Arg("--qlora", "yes") == "yes",
                Arg("--side-dtypes", "fp32").Split(','), Arg("--dtype", "fp32")) };
        if (Arg("--name", "") is { Length: > 0 } rankName) which = rankName;
        break;
    case "load-peak":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = LoadPeakBenchmark.Run(Arg("--model", model), int.Parse(Arg("--repeats", "2"))) };
        break;
    case "pytorch-comparison":
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(),
            results = PyTorchComparisonBenchmark.Run(model, Path.Combine(assets, "data", "tiny-shakespeare.txt"), Arg("--scratch", Path.GetTempPath()),
                PyTorchComparisonBenchmark.FindScript(), int.Parse(Arg("--steps", "20")), int.Parse(Arg("--warmup", "3")),
                int.Parse(Arg("--batch", "8")), int.Parse(Arg("--seq", "128")), int.Parse(Arg("--repeats", "2"))) };
        which = PyTorchComparisonBenchmark.ResultName;
        break;
    case "quantized-decode": // [--config assets/configs/qwen3-0.6b.json] [--prompt-tokens 16] [--new-tokens 32] [--repeats 3]
        result = new { benchmark = which, command = Command(), machine = Machine.Describe(), results = QuantizedDecodeBenchmark.Run(Arg("--config", Path.Combine(assets, "configs", "qwen3-0.6b.json")), model, Arg("--scratch", Path.GetTempPath()), int.Parse(Arg("--prompt-tokens", "16")), int.Parse(Arg("--new-tokens", "32")), int.Parse(Arg("--repeats", "3"))) };
        break;
    default:
        Console.Error.WriteLine($"unknown benchmark '{which}'; expected one of: {string.Join(", ", Benchmarks)}");
        return 2;
}
Directory.CreateDirectory(outDir);
var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
var path = Path.Combine(outDir, which + ".json");
File.WriteAllText(path, json);
Console.WriteLine(json);
Console.Error.WriteLine($"written to {path}");
return exitCode;

string Command() => "dotnet run --project bench/QuantTune.Bench -c Release -- " + string.Join(' ', args);
