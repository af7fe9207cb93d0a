using QuantTune.Cli.Rendering;
using QuantTune.IO;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary>
/// The demo's fine-tuning part: LoRA, QLoRA and QST on Tiny Shakespeare (train on the first
/// 90 %, evaluate on the last 10 %) with the same data, batch, sequence length and steps;
/// a table and a PNG chart of held-out perplexity, trainable parameters, M1/M2/M3/peak and step time.
/// </summary>
public static class DemoComparison
{
    public static readonly (FineTuneMethod Method, double Lr)[] Methods =
        [(FineTuneMethod.Lora, 1e-2), (FineTuneMethod.Qlora, 1e-2), (FineTuneMethod.Qst, 3e-2)];

    public static IReadOnlyList<FineTuneSummary> Run(string model, string outputDirectory, int steps, int batch, int seq, bool interactive)
    {
        var results = new List<FineTuneSummary>();
        foreach (var (method, lr) in Methods)
        {
            var request = new FineTuneRequest
            {
                ModelDirectory = model,
                DataFile = Assets.TinyShakespeare,
                OutputDirectory = Path.Combine(outputDirectory, method.ToString().ToLowerInvariant()),
                Method = method,
                SequenceLength = seq,
                MaxEvalExamples = 64,
                Training = new TrainingOptions { Steps = steps, BatchSize = batch, LearningRate = lr, EvalEvery = steps, Seed = 42, Schedule = ScheduleKind.Cosine },
            };
            results.Add(TrainingDisplay.Run(method.ToString().ToLowerInvariant(), interactive, p => FineTuner.Run(request, p, CliHost.Cancellation)));
        }
        return results;
    }

    public static void Render(IReadOnlyList<FineTuneSummary> rows)
    {
        var table = new Table().AddColumns("method", "held-out ppl (before → after)", "trainable", "M1 weights", "M2 opt+grad", "M3 activations", "step peak", "ms/step");
        foreach (var r in rows)
            table.AddRow(r.Method, $"{r.EvalPerplexityBefore:F2} → {r.EvalPerplexityAfter:F2}", $"{r.TrainableParameters:N0}",
                ModelSummaryView.Bytes(r.Memory.M1), ModelSummaryView.Bytes(r.Memory.M2),
                r.Memory.M3 is long m3 ? ModelSummaryView.Bytes(m3) : "n/a", r.Memory.StepPeak is long p ? ModelSummaryView.Bytes(p) : "n/a",
                $"{r.SecondsPerStep * 1000:F0}");
        AnsiConsole.Write(table);
    }

    public static string Markdown(IReadOnlyList<FineTuneSummary> rows)
    {
        static string MiB(long? b) => b is long v ? $"{v / 1048576.0:F1} MiB" : "n/a";
        var md = "| method | held-out perplexity (before → after) | trainable parameters | M1 weights | M2 optimizer + gradients | M3 activations (measured) | step peak (measured) | time/step |\n|---|---|---|---|---|---|---|---|\n";
        foreach (var r in rows)
            md += $"| {r.Method} | {r.EvalPerplexityBefore:F2} → {r.EvalPerplexityAfter:F2} | {r.TrainableParameters:N0} | {MiB(r.Memory.M1)} | {MiB(r.Memory.M2)} | {MiB(r.Memory.M3)} | {MiB(r.Memory.StepPeak)} | {r.SecondsPerStep * 1000:F0} ms |\n";
        return md;
    }

    public static void Save(string outputDirectory, IReadOnlyList<FineTuneSummary> rows, string header)
    {
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "comparison.md"), header + "\n\n" + Markdown(rows));
        const double MiB = 1048576.0;
        QuantTune.Plots.StackedBarChart.Save(Path.Combine(outputDirectory, "comparison.png"), "Memory by method (measured): tiny-llama, Tiny Shakespeare", "MiB",
            rows.Select(r => r.Method).ToList(),
            [
                ("M1 weights", rows.Select(r => r.Memory.M1 / MiB).ToArray()),
                ("M2 optimizer + gradients", rows.Select(r => r.Memory.M2 / MiB).ToArray()),
                ("M3 activations", rows.Select(r => (r.Memory.M3 ?? 0) / MiB).ToArray()),
            ],
            rows.Select(r => $"ppl {r.EvalPerplexityAfter:F1}, {r.SecondsPerStep * 1000:F0} ms/step").ToList());
    }
}
