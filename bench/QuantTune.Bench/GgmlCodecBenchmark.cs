using QuantTune.Formats.Gguf;

namespace QuantTune.Bench;

/// <summary>
/// GGUF block codec throughput per <see cref="GgmlType"/> on a Gaussian weight: <see cref="GgmlCodec"/>'s
/// parallel chunked pass against the same chunks run one after another on one thread.
/// </summary>
public static class GgmlCodecBenchmark
{
    public static object Run(int rows, int columns)
    {
        var rng = new Random(1);
        var x = new float[checked(rows * columns)];
        for (int i = 0; i < x.Length; i++)
            x[i] = 0.02f * (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        double mElements = x.Length / 1e6;
        var results = new List<object>();
        foreach (var type in Enum.GetValues<GgmlType>())
        {
            byte[] q = GgmlCodec.Quantize(type, x);
            int chunkBytes = checked((int)type.ByteCount(GgmlCodec.ChunkElements)!.Value);
            double seqQ = Timing.Median(3, () =>
            {
                for (int s = 0; s < x.Length; s += GgmlCodec.ChunkElements)
                    GgmlCodec.Quantize(type, x.AsSpan(s, Math.Min(GgmlCodec.ChunkElements, x.Length - s)));
            });
            double parQ = Timing.Median(3, () => GgmlCodec.Quantize(type, x));
            double seqD = Timing.Median(3, () =>
            {
                for (int s = 0, b = 0; s < x.Length; s += GgmlCodec.ChunkElements, b += chunkBytes)
                {
                    int n = Math.Min(GgmlCodec.ChunkElements, x.Length - s);
                    GgmlCodec.Dequantize(type, q.AsSpan(b, checked((int)type.ByteCount(n)!.Value)), n);
                }
            });
            double parD = Timing.Median(3, () => GgmlCodec.Dequantize(type, q, x.Length));
            results.Add(new
            {
                type = type.ToString(),
                bits_per_weight = 8.0 * type.BlockBytes() / type.BlockSize(),
                quantize_melem_per_s_one_thread = Math.Round(mElements / seqQ, 1),
                quantize_melem_per_s_parallel = Math.Round(mElements / parQ, 1),
                dequantize_melem_per_s_one_thread = Math.Round(mElements / seqD, 1),
                dequantize_melem_per_s_parallel = Math.Round(mElements / parD, 1),
            });
        }
        return new { weight = new[] { rows, columns }, processors = Environment.ProcessorCount, chunk_elements = GgmlCodec.ChunkElements, types = results };
    }
}
