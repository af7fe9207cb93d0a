using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Bench;

/// <summary>
/// QST's side-network width against QLoRA (issue 14): on tiny-llama (h 256, 8 heads of 32) the
/// paper's r = 16 leaves side heads of dimension 2. Held-out perplexity on Tiny Shakespeare for
/// r ∈ {2, 4, 8, 16} and for QLoRA, all with the demo's data, batch, sequence, steps, schedule and
/// learning rates (QST 3e-2, QLoRA 1e-2), so that the demo's r can be chosen from the table; and
/// each r with the side network in fp32 and in bf16 (<c>--side-dtype</c>), to choose the default.
/// </summary>
public static class QstRankBenchmark
{
    public static object Run(string model, string data, string scratch, int steps, int batch, int seq, IReadOnlyList<int> reductions, double qstLr = 3e-2, bool withQlora = true, IReadOnlyList<string>? sideDTypes = null, string dtype = "fp32")
    {
        var rows = new List<object>();
        var qst = (sideDTypes ?? ["fp32"]).SelectMany(d => reductions.Select(r => (FineTuneMethod.Qst, qstLr, (int?)r, d)));
        var runs = withQlora ? qst.Prepend((FineTuneMethod.Qlora, 1e-2, null, "fp32")) : qst;
        foreach (var (method, lr, reduction, sideDType) in runs)
        {
            Console.Error.WriteLine($"qst-rank benchmark: {method}{(reduction is int r ? $" r={r} side {sideDType}" : "")}...");
            var dir = Path.Combine(scratch, $"qt-qstrank-{method}-{reduction}-{sideDType}");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var s = FineTuner.Run(new FineTuneRequest
            {
                ModelDirectory = model, DataFile = data, OutputDirectory = dir, Method = method, SequenceLength = seq, MaxEvalExamples = 64,
                DType = QuantTune.Runtime.TorchRuntime.ParseDType(dtype),
                Qst = new QstConfig { Reduction = reduction ?? 16, SideDType = QstConfig.ParseSideDType(sideDType) },
                Training = new TrainingOptions { Steps = steps, BatchSize = batch, LearningRate = lr, EvalEvery = steps, Seed = 42, Schedule = ScheduleKind.Cosine },
            });
            rows.Add(new
            {
                method = s.Method, reduction, side_dtype = method == FineTuneMethod.Qst ? sideDType : null, lr, s.EvalPerplexityBefore, s.EvalPerplexityAfter, s.TrainableParameters,
                m1_bytes = s.Memory.M1, m2_bytes = s.Memory.M2, m3_bytes = s.Memory.M3, step_peak_bytes = s.Memory.StepPeak, ms_per_step = Math.Round(s.SecondsPerStep * 1000, 1),
            });
            Directory.Delete(dir, recursive: true);
        }
        return new { steps, batch, seq, dtype, schedule = "cosine", data = "tiny-shakespeare (train 90 %, held-out 10 %, 64 examples)", rows };
    }
}
