using System.Diagnostics;
using QuantTune.Qat;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Pretraining;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// A tiny Llama pretrained from scratch in fp32 and as BitNet b1.58 (same shape, data, steps and
/// learning rate): held-out perplexity, bits per weight and weight memory; and CPU inference
/// speed of the add/subtract-only ternary matmul against libtorch's fp32 matmul.
/// </summary>
public static class BitNetBenchmark
{
    public static object Run(string tokenizerDir, string data, string scratch, int steps)
    {
        var size = ModelSize.Named("tiny");
        var initial = Path.Combine(scratch, "qt-bitnet-initial");
        InitialCheckpoint.Write(initial, size, tokenizerDir, seed: 42);
        var runs = new List<object>();
        foreach (var qat in new string?[] { null, "bitnet158" })
        {
            Console.Error.WriteLine($"bitnet benchmark: pretraining {qat ?? "fp32"}...");
            var dir = Path.Combine(scratch, "qt-bitnet-" + (qat ?? "fp32"));
            var s = FineTuner.Run(new FineTuneRequest
            {
                ModelDirectory = initial, DataFile = data, Format = "text", OutputDirectory = dir, Method = FineTuneMethod.Full, Qat = qat,
                SequenceLength = 128, MaxEvalExamples = 64,
                Training = new TrainingOptions { Steps = steps, BatchSize = 8, LearningRate = 2e-3, WarmupSteps = Math.Min(steps / 10, 100), EvalEvery = steps, Seed = 42 },
            });
            long linear = size.Layers * (4L * size.Hidden * size.Hidden + 3L * size.Hidden * size.Intermediate);
            long other = s.TotalParameters - linear;
            // BitNet keeps embeddings, norms and the LM head in full precision; its linear weights pack to 1.6 bits (5 trits per byte) + one fp32 scale per tensor.
            long weightBytes = qat is null ? s.TotalParameters * 4 : other * 4 + (long)Math.Ceiling(linear / 5.0) + size.Layers * 7 * 4;
            runs.Add(new
            {
                model = qat ?? "fp32", parameters = s.TotalParameters, linear_parameters = linear,
                held_out_perplexity = s.EvalPerplexityAfter, ms_per_training_step = Math.Round(s.SecondsPerStep * 1000, 1),
                linear_bits_per_weight = qat is null ? 32.0 : 1.6, weight_bytes = weightBytes,
            });
            Directory.Delete(dir, recursive: true);
        }
        Directory.Delete(initial, recursive: true);
        return new { size, steps, batch = 8, seq = 128, lr = 2e-3, runs, inference = Inference() };
    }

    /// <summary>y = x·Wᵀ for one token (decode) and for 64 tokens: ternary add/subtract kernel vs fp32 matmul.</summary>
    static object Inference()
    {
        var rows = new List<object>();
        foreach (var (outF, inF) in new[] { (352, 128), (4096, 4096) })
            foreach (int tokens in new[] { 1, 64 })
            {
                using var scope = NewDisposeScope();
                var w = randn(outF, inF);
                float gamma = w.abs().mean().item<float>();
                var codes = (w / gamma).round().clamp(-1, 1).to_type(ScalarType.Int8);
                var packed = TernaryPacked.Pack(codes, TernaryPacking.Base3);
                var dense = codes.to_type(ScalarType.Float32) * gamma;
                var x = randn(tokens, inF);
                double ternary = Timing.Median(5, () => TernaryMatmul.Apply(x, packed, gamma).Dispose());
                double fp32 = Timing.Median(5, () => x.matmul(dense.t()).Dispose());
                rows.Add(new
                {
                    weight = $"{outF}×{inF}", tokens, ternary_ms = Math.Round(ternary * 1000, 3), fp32_ms = Math.Round(fp32 * 1000, 3),
                    ternary_bytes = packed.StorageBytes, fp32_bytes = dense.numel() * 4,
                });
            }
        return rows;
    }
}
