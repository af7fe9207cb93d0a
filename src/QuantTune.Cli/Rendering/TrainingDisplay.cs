using System.Diagnostics;
using QuantTune.Training;
using Spectre.Console;

namespace QuantTune.Cli.Rendering;

/// <summary>Training progress with loss, learning rate and ETA: a live bar on a terminal, lines on stderr otherwise.</summary>
public static class TrainingDisplay
{
    public static T Run<T>(string description, bool interactive, Func<IProgress<TrainingProgress>, T> work)
    {
        if (!interactive) return work(new Lines(description));
        T result = default!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description));
                result = work(new Live(task, description));
            });
        return result;
    }

    static string Describe(string description, TrainingProgress p) =>
        $"{description}: step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.LearningRate:G3}" + (p.EvalLoss is double e ? $" eval ppl {Math.Exp(e):F2}" : "");

    sealed class Live(ProgressTask task, string description) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            task.MaxValue = p.TotalSteps;
            task.Value = p.Step;
            task.Description = Markup.Escape(Describe(description, p));
        }
    }

    sealed class Lines(string description) : IProgress<TrainingProgress>
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        TimeSpan? _last;

        public void Report(TrainingProgress p)
        {
            var now = _clock.Elapsed;
            if (p.Step < p.TotalSteps && p.EvalLoss is null && _last is TimeSpan last && now - last < TimeSpan.FromSeconds(5)) return;
            _last = now;
            var eta = TimeSpan.FromSeconds(now.TotalSeconds / Math.Max(1, p.Step) * (p.TotalSteps - p.Step));
            Console.Error.WriteLine($"{Describe(description, p)}, elapsed {now:mm\\:ss}, ETA {eta:mm\\:ss}");
        }
    }
}
