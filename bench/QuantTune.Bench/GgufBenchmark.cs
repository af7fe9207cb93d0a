using QuantTune.Formats.Gguf;

namespace QuantTune.Bench;

/// <summary>
/// GGUF export throughput (MB of fp32 weights encoded per second) per llama.cpp file type, on two
/// random tensors shaped like a Llama-7B layer's attn_q [4096, 4096] and ffn_down [4096, 11008],
/// each encoded (GgmlCodec) in the type the file type's mixture gives it at layer 0 of 32. File
/// types that need a type without a codec yet are listed as skipped.
/// </summary>
public static class GgufBenchmark
{
    public static object Run(int hidden, int mlp, int repeats)
    {
        var random = new Random(1);
        float[] Weight(long n) { var w = new float[n]; for (long i = 0; i < n; i++) w[i] = (float)(random.NextDouble() * 2 - 1) * 0.02f; return w; }
        var tensors = new (GgufTensorShape Shape, float[] Values)[]
        {
            (new("blk.0.attn_q.weight", [hidden, hidden]), Weight((long)hidden * hidden)),
            (new("blk.0.ffn_down.weight", [hidden, mlp]), Weight((long)hidden * mlp)),
        };
        var model = new LlamaMixtureModel(Layers: 32, Heads: 32, KvHeads: 32);
        double mb = tensors.Sum(t => t.Values.LongLength) * 4 / 1e6;
        var results = new List<object>();
        foreach (var fileType in Enum.GetValues<LlamaFileType>())
        {
            var plan = GgufMixture.Plan(fileType, tensors.Select(t => t.Shape).ToList(), model);
            try
            {
                var perTensor = tensors.Select(t =>
                {
                    var type = plan[t.Shape.Name];
                    long bytes = 0;
                    double s = Timing.Median(repeats, () => bytes = GgmlCodec.Quantize(type, t.Values).LongLength);
                    return new { tensor = t.Shape.Name, shape = t.Shape.Shape, type = type.ToString(), seconds = Math.Round(s, 4),
                        mb_per_s = Math.Round(t.Values.LongLength * 4 / 1e6 / s, 1), bits_per_weight = Math.Round(bytes * 8.0 / t.Values.LongLength, 3) };
                }).ToList();
                double total = perTensor.Sum(t => t.seconds);
                results.Add(new { file_type = fileType.ToString(), mb_per_s = Math.Round(mb / total, 1), tensors = perTensor });
                Console.Error.WriteLine($"{fileType}: {mb / total:F1} MB/s");
            }
            catch (NotSupportedException e)
            {
                results.Add(new { file_type = fileType.ToString(), skipped = e.Message });
                Console.Error.WriteLine($"{fileType}: skipped ({e.Message})");
            }
        }
        return new { fp32_mb = Math.Round(mb, 1), repeats, file_types = results };
    }
}
