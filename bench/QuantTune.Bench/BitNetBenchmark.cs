using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Pretraining;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// A tiny Llama pretrained from scratch in fp32 and as BitNet b1.58 (same shape, data, steps and
/// learning rate): held-out perplexity, bits per weight and weight memory. CPU inference is
/// <see cref="BitNetInferenceBenchmark"/>.
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
            var s = Pretrain(initial, data, dir, qat, steps);
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
        return new { size, steps, batch = 8, seq = 128, lr = 2e-3, runs };
    }

    /// <summary>Pretrains the tiny model from <paramref name="initial"/> (fp32 when <paramref name="qat"/> is null) as the benchmarks do.</summary>
    public static FineTuneSummary Pretrain(string initial, string data, string dir, string? qat, int steps) => FineTuner.Run(new FineTuneRequest
    {
        ModelDirectory = initial, DataFile = data, Format = "text", OutputDirectory = dir, Method = FineTuneMethod.Full, Qat = qat,
        SequenceLength = 128, MaxEvalExamples = 64,
        Training = new TrainingOptions { Steps = steps, BatchSize = 8, LearningRate = 2e-3, WarmupSteps = Math.Min(steps / 10, 100), EvalEvery = steps, Seed = 42 },
    });
}
