using System.Diagnostics;
using QuantTune.Training;
using Spectre.Console;

namespace QuantTune.Cli.Rendering;

/// <summary>
/// Training progress: each phase before the first step (loading, quantizing, tokenizing,
/// evaluating), then step, loss, learning rate and the trainer's ETA (which leaves the first
/// step and the evaluations out of the step time); a live bar on a terminal, lines on stderr
/// otherwise.
/// </summary>
public static class TrainingDisplay
{
    public static T Run<T>(string description, bool interactive, Func<IProgress<TrainingProgress>, T> work)
    {
        if (!interactive) return work(new Lines(description));
        T result = default!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description));
                result = work(new Live(task, description));
            });
        return result;
    }

    internal static string Describe(string description, TrainingProgress p)
    {
        if (p.Phase is not null) return $"{description}: {p.Phase}";
        // A preference objective's held-out figure is its loss (a perplexity means nothing there), and its reward margin and accuracy are shown.
        string held = p.EvalLoss is not double e ? "" : p.Metrics is null ? $" eval ppl {Math.Exp(e):F2}" : $" eval loss {e:F4}";
        string rewards = p.Metrics is null ? ""
            : (p.Metrics.TryGetValue("rewards/margins", out var margin) ? $" margin {margin:F3}" : "") + (p.Metrics.TryGetValue("rewards/accuracies", out var accuracy) ? $" acc {accuracy:F2}" : "");
        return $"{description}: step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}{rewards} lr {p.LearningRate:G3}" + held
            + (p.Remaining is TimeSpan left ? $" ETA {Durations.Format(left)}" : "");
    }

    sealed class Live(ProgressTask task, string description) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            task.MaxValue = Math.Max(1, p.TotalSteps);
            if (p.Phase is null) task.Value = p.Step;
            task.Description = Markup.Escape(Describe(description, p));
        }
    }

    internal sealed class Lines(string description, TextWriter? writer = null) : IProgress<TrainingProgress>
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        readonly TextWriter _out = writer ?? Console.Error;
        TimeSpan? _last;

        public void Report(TrainingProgress p)
        {
            var now = _clock.Elapsed;
            // Phases, the first step, evaluations and the last step always; other steps every 5 s.
            bool always = p.Phase is not null || p.Step >= p.TotalSteps || p.EvalLoss is not null || _last is null;
            if (!always && _last is TimeSpan last && now - last < TimeSpan.FromSeconds(5)) return;
            if (p.Phase is null) _last = now;
            _out.WriteLine($"{Describe(description, p)}, elapsed {Durations.Format(now)}");
        }
    }
}
