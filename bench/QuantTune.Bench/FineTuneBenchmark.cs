using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Bench;

/// <summary>
/// Every fine-tuning method on tiny-llama and Tiny Shakespeare (train: first 90 %, held-out:
/// last 10 %), same data, batch, sequence length and steps: held-out perplexity before and
/// after, trainable parameters, M1/M2/M3/peak (measured) and time per step.
/// </summary>
public static class FineTuneBenchmark
{
    /// <summary>Learning rates: LoRA, QLoRA and QST from a sweep of {2e-3, 1e-2, 3e-2} (60 steps); the others set by analogy, not tuned.</summary>
    public static readonly (FineTuneMethod Method, double Lr)[] Methods =
    [
        (FineTuneMethod.Full, 1e-3), (FineTuneMethod.Lora, 1e-2), (FineTuneMethod.Qlora, 1e-2), (FineTuneMethod.Dora, 1e-2),
        (FineTuneMethod.Adapter, 1e-2), (FineTuneMethod.Ia3, 3e-2), (FineTuneMethod.Prompt, 3e-2), (FineTuneMethod.Bitfit, 1e-2), (FineTuneMethod.Qst, 3e-2),
    ];

    /// <param name="methods">the methods to run (null: all of <see cref="Methods"/>)</param>
    /// <param name="dtypes">the base dtypes to run each method in (fp32, bf16: mixed precision)</param>
    public static object Run(string model, string data, string scratch, int steps, int batch, int seq,
        IReadOnlyList<FineTuneMethod>? methods = null, IReadOnlyList<string>? dtypes = null)
    {
        dtypes ??= ["fp32"];
        var rows = new List<object>();
        foreach (var (method, lr) in Methods.Where(m => methods is null || methods.Contains(m.Method)))
        foreach (var dtypeName in dtypes)
        {
            Console.Error.WriteLine($"finetune benchmark: {method} {dtypeName}...");
            var dir = Path.Combine(scratch, "qt-ftbench-" + method.ToString().ToLowerInvariant() + "-" + dtypeName);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var s = FineTuner.Run(new FineTuneRequest
            {
                ModelDirectory = model, DataFile = data, OutputDirectory = dir, Method = method, SequenceLength = seq, MaxEvalExamples = 64,
                DType = QuantTune.Runtime.TorchRuntime.ParseDType(dtypeName),
                Training = new TrainingOptions { Steps = steps, BatchSize = batch, LearningRate = lr, EvalEvery = steps, Seed = 42 },
            });
            rows.Add(new
            {
                method = s.Method, dtype = s.DType, device = s.Device, lr, s.EvalPerplexityBefore, s.EvalPerplexityAfter, s.TrainableParameters, s.TotalParameters,
                m1_bytes = s.Memory.M1, m2_bytes = s.Memory.M2, m3_bytes = s.Memory.M3, step_peak_bytes = s.Memory.StepPeak,
                ms_per_step = Math.Round(s.SecondsPerStep * 1000, 1),
            });
            Directory.Delete(dir, recursive: true);
        }
        return new { steps, batch, seq, optimizer = "adamw", schedule = "cosine", rows };
    }
}
