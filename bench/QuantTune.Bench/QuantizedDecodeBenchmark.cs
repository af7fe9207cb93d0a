using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Generation;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Layers;
using QuantTune.Tokenization;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// Decode speed and resident memory of a Q4_K_M GGUF with random weights at a real model's shape (Qwen3-0.6B by default),
/// loaded each way in a fresh process: dequantized to fp32 on load (the path before issue #29), and with the kernel-typed
/// linears kept on their blocks (<see cref="GgufLinear"/>). Tokens per second run from the first new token to the last (greedy,
/// no stop token), the median of the repeats after one warm-up; memory is the process's resident set after the load and its peak.
/// </summary>
public static class QuantizedDecodeBenchmark
{
    public const string ChildName = "quantized-decode-run";
    static readonly string[] Modes = ["dequantized", "gguf-blocks"];

    public static object Run(string configPath, string tokenizerDir, string scratch, int promptTokens, int newTokens, int repeats)
    {
        string path = Path.Combine(scratch, $"quantized-decode-{Path.GetFileNameWithoutExtension(configPath)}-q4_k_m.gguf");
        double exportSeconds = File.Exists(path) ? 0 : Export(configPath, tokenizerDir, path);
        var rows = new List<object>();
        foreach (var mode in Modes)
        {
            Console.Error.WriteLine($"quantized-decode: {mode}...");
            rows.Add(Child(mode, path, promptTokens, newTokens, repeats));
        }
        return new
        {
            config = Path.GetFileName(configPath),
            file = Path.GetFileName(path),
            file_bytes = new FileInfo(path).Length,
            export_s = Math.Round(exportSeconds, 1),
            prompt_tokens = promptTokens,
            new_tokens = newTokens,
            repeats,
            rows,
        };
    }

    /// <summary>A model of <paramref name="configPath"/>'s shape, random weights (std 0.02), written as Q4_K_M with <paramref name="tokenizerDir"/>'s tokenizer.</summary>
    static double Export(string configPath, string tokenizerDir, string path)
    {
        Console.Error.WriteLine($"quantized-decode: writing {path}...");
        var sw = Stopwatch.StartNew();
        var config = ModelConfig.Load(configPath);
        var model = new CausalLM(config, ScalarType.Float32, CPU);
        WeightInit.Initialize(model, seed: 0);
        using var pm = new PretrainedModel { Directory = tokenizerDir, Config = config, Model = model, Tokenizer = HfTokenizer.FromDirectory(tokenizerDir) };
        GgufExport.Write(pm, path, LlamaFileType.Q4_K_M);
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>One mode in this process; its row.</summary>
    public static object RunOne(string mode, string path, int promptTokens, int newTokens, int repeats)
    {
        using (zeros(1)) { } // libtorch loaded and initialised before the baseline is read
        long baseline = ProcessMemory.Resident ?? 0;
        var sw = Stopwatch.StartNew();
        using var pm = mode switch
        {
            "dequantized" => PretrainedModel.Load(path),
            "gguf-blocks" => PretrainedModel.Load(path, keepGgufBlocks: true),
            _ => throw new ArgumentException($"unknown mode '{mode}'; expected one of {string.Join(", ", Modes)}"),
        };
        double loadSeconds = sw.Elapsed.TotalSeconds;
        long afterLoad = ProcessMemory.Resident ?? 0;
        // What the loaded model holds, once the loader's garbage (the dequantized arrays it copied from) is collected and returned.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true); // and the freed heap given back
        ProcessMemory.Trim();
        long afterCollect = ProcessMemory.Resident ?? 0;
        var prompt = Enumerable.Range(0, promptTokens).Select(i => (i * 7919 + 13) % pm.Tokenizer.VocabSize).ToList();
        var options = new SamplingOptions { MaxNewTokens = newTokens, StopTokens = [] };
        var perSecond = new List<double>();
        var promptSeconds = new List<double>();
        for (int run = 0; run < 1 + repeats; run++)
        {
            var clock = Stopwatch.StartNew();
            double first = 0;
            int count = 0;
            foreach (var _ in TextGenerator.Generate(pm.Model, prompt, options))
                if (count++ == 0) first = clock.Elapsed.TotalSeconds;
            if (run == 0) continue; // warm-up: the JIT's optimised code
            perSecond.Add((count - 1) / (clock.Elapsed.TotalSeconds - first));
            promptSeconds.Add(first);
        }
        var layers = pm.Model.modules().OfType<GgufLinear>().ToList();
        return new
        {
            mode,
            load_s = Math.Round(loadSeconds, 1),
            decode_tokens_per_s = Math.Round(Median(perSecond), 2),
            decode_tokens_per_s_runs = perSecond.Select(v => Math.Round(v, 2)).ToList(),
            prompt_pass_s = Math.Round(Median(promptSeconds), 2),
            baseline_rss_bytes = baseline,
            rss_after_load_bytes = afterLoad,
            rss_after_load_and_gc_bytes = afterCollect,
            peak_rss_bytes = ProcessMemory.Peak ?? 0,
            gguf_linear_layers = layers.Count,
            gguf_linear_bytes = layers.Sum(l => l.StorageBytes),
            head_on_blocks_bytes = (pm.Model.HeadOnBlocks as GgufLinear)?.StorageBytes ?? 0,
            embedding_on_blocks_bytes = (pm.Model.model.embed_tokens as GgufEmbedding)?.StorageBytes ?? 0,
            float_parameter_bytes = pm.Model.parameters().Where(p => p.device_type != TorchSharp.DeviceType.META).Sum(p => p.numel() * p.ElementSize),
            threads = Environment.ProcessorCount,
            load_average = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown",
        };
    }

    static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count == 0 ? 0 : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    static JsonElement Child(string mode, string path, int promptTokens, int newTokens, int repeats)
    {
        return ChildProcess.Run(mode, ChildName, "--mode", mode, "--model", path, "--prompt-tokens", $"{promptTokens}", "--new-tokens", $"{newTokens}", "--repeats", $"{repeats}");
    }
}
