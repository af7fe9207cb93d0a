using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Bench;

/// <summary>
/// QST's side-network width against QLoRA (issue 14): on tiny-llama (h 256, 8 heads of 32) the
/// paper's r = 16 leaves side heads of dimension 2. Held-out perplexity on Tiny Shakespeare for
/// r ∈ {2, 4, 8, 16} and for QLoRA, all with the demo's data, batch, sequence, steps, schedule and
/// learning rates (QST 3e-2, QLoRA 1e-2), so that the demo's r can be chosen from the table.
/// </summary>
public static class QstRankBenchmark
{
    public static object Run(string model, string data, string scratch, int steps, int batch, int seq, IReadOnlyList<int> reductions, double qstLr = 3e-2, bool withQlora = true)
    {
        var rows = new List<object>();
        var qst = reductions.Select(r => (FineTuneMethod.Qst, qstLr, (int?)r));
        var runs = withQlora ? qst.Prepend((FineTuneMethod.Qlora, 1e-2, null)) : qst;
        foreach (var (method, lr, reduction) in runs)
        {
            Console.Error.WriteLine($"qst-rank benchmark: {method}{(reduction is int r ? $" r={r}" : "")}...");
            var dir = Path.Combine(scratch, $"qt-qstrank-{method}-{reduction}");
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var s = FineTuner.Run(new FineTuneRequest
            {
                ModelDirectory = model, DataFile = data, OutputDirectory = dir, Method = method, SequenceLength = seq, MaxEvalExamples = 64,
                Qst = new QstConfig { Reduction = reduction ?? 16 },
                Training = new TrainingOptions { Steps = steps, BatchSize = batch, LearningRate = lr, EvalEvery = steps, Seed = 42, Schedule = ScheduleKind.Cosine },
            });
            rows.Add(new
            {
                method = s.Method, reduction, lr, s.EvalPerplexityBefore, s.EvalPerplexityAfter, s.TrainableParameters,
                m2_bytes = s.Memory.M2, m3_bytes = s.Memory.M3, ms_per_step = Math.Round(s.SecondsPerStep * 1000, 1),
            });
            Directory.Delete(dir, recursive: true);
        }
        return new { steps, batch, seq, schedule = "cosine", data = "tiny-shakespeare (train 90 %, held-out 10 %, 64 examples)", rows };
    }
}
