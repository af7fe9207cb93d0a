using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// Checkpoint load time against the time to read the same bytes from disk (page cache warm in
/// both: this measures the loader's own overhead, not the disk).
/// </summary>
public static class LoadBenchmark
{
    public static object Run(string fixture, string scratch, double syntheticGiB)
    {
        var results = new List<object> { Measure("tiny-llama fixture (3 bf16 shards)", fixture, repeats: 5) };
        if (syntheticGiB > 0)
        {
            var dir = BuildSynthetic(scratch, syntheticGiB, fixture);
            try { results.Add(Measure($"synthetic Llama checkpoint ({syntheticGiB} GiB bf16, 2 shards)", dir, repeats: 3)); }
            finally { Directory.Delete(dir, recursive: true); }
        }
        return results;
    }

    static object Measure(string name, string dir, int repeats)
    {
        var files = Directory.GetFiles(dir, "*.safetensors");
        long bytes = files.Sum(f => new FileInfo(f).Length);
        var buffer = new byte[1 << 24];
        double read = Timing.Median(repeats, () =>
        {
            foreach (var f in files)
            {
                using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                while (s.Read(buffer, 0, buffer.Length) > 0) { }
            }
        });
        double tensors = Timing.Median(repeats, () =>
        {
            using var ckpt = SafetensorsCheckpoint.Open(dir);
            foreach (var n in ckpt.Names) ckpt.ToTensor(n).Dispose();
        });
        double modelBf16 = Timing.Median(repeats, () => PretrainedModel.Load(dir, ScalarType.BFloat16).Dispose());
        double modelFp32 = Timing.Median(repeats, () => PretrainedModel.Load(dir, ScalarType.Float32).Dispose());
        double GBps(double s) => Math.Round(bytes / s / 1e9, 2);
        return new
        {
            checkpoint = name,
            bytes,
            read_bytes_s = read,
            read_gb_per_s = GBps(read),
            safetensors_to_tensors_s = tensors,
            safetensors_gb_per_s = GBps(tensors),
            model_load_bf16_s = modelBf16,
            model_load_bf16_gb_per_s = GBps(modelBf16),
            model_load_fp32_s = modelFp32,
            model_load_fp32_gb_per_s = GBps(modelFp32),
            bf16_load_vs_read = Math.Round(modelBf16 / read, 2),
        };
    }

    /// <summary>A Llama-shaped checkpoint of about <paramref name="gib"/> GiB with random bf16 weights, in two shards.</summary>
    static string BuildSynthetic(string scratch, double gib, string fixture)
    {
        var dir = Path.Combine(scratch, "synthetic-llama");
        Directory.CreateDirectory(dir);
        // hidden 2048, MLP 5632, 32000 vocab: 2*32000*2048 + L*(4*2048² + 3*2048*5632) params.
        long perLayer = 4L * 2048 * 2048 + 3L * 2048 * 5632, embeddings = 2L * 32000 * 2048;
        int layers = Math.Max(1, (int)((gib * (1L << 30) / 2 - embeddings) / perLayer));
        var config = $$"""
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632,
             "num_hidden_layers": {{layers}}, "num_attention_heads": 16, "num_key_value_heads": 16,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16"}
            """;
        File.WriteAllText(Path.Combine(dir, "config.json"), config);
        File.Copy(Path.Combine(fixture, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"), overwrite: true);
        using var model = new CausalLM(ModelConfig.Parse(config), ScalarType.BFloat16, CPU);
        WeightInit.Initialize(model, seed: 1);
        var all = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        var half = all.Count / 2;
        var shards = new[] { all.Take(half).ToList(), all.Skip(half).ToList() };
        var map = new Dictionary<string, string>();
        for (int s = 0; s < 2; s++)
        {
            var file = $"model-{s + 1:00000}-of-00002.safetensors";
            SafetensorsWriter.Write(Path.Combine(dir, file), shards[s].Select(p => new KeyValuePair<string, Tensor>(p.Item1, p.Item2)));
            foreach (var (n, _) in shards[s]) map[n] = file;
        }
        File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFile), System.Text.Json.JsonSerializer.Serialize(new { metadata = new { }, weight_map = map }));
        return dir;
    }
}
