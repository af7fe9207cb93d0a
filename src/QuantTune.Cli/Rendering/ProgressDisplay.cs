using System.Diagnostics;
using Spectre.Console;

namespace QuantTune.Cli.Rendering;

/// <summary>
/// Shows progress of long work with an ETA: a live bar on an interactive terminal, otherwise a
/// line on stderr every few seconds (so logs and --json output stay clean).
/// </summary>
public static class ProgressDisplay
{
    /// <summary>Runs <paramref name="work"/> with a progress bar on <paramref name="console"/> (standard output when null).</summary>
    public static T Run<T>(string description, bool interactive, Func<IProgress<(long Done, long Total)>, T> work, IAnsiConsole? console = null)
    {
        if (!interactive)
            return work(new LineProgress(description));
        T result = default!;
        (console ?? AnsiConsole.Console).Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description));
                result = work(new TaskProgress(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    sealed class TaskProgress(ProgressTask task) : IProgress<(long Done, long Total)>
    {
        public void Report((long Done, long Total) value)
        {
            task.MaxValue = Math.Max(1, value.Total);
            task.Value = value.Done;
        }
    }

    sealed class LineProgress(string description) : IProgress<(long Done, long Total)>
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        TimeSpan _last = TimeSpan.Zero;

        public void Report((long Done, long Total) value)
        {
            var now = _clock.Elapsed;
            bool finished = value.Done >= value.Total;
            if (!finished && now - _last < TimeSpan.FromSeconds(5)) return;
            _last = now;
            double fraction = value.Total > 0 ? (double)value.Done / value.Total : 1;
            var eta = fraction > 0 ? TimeSpan.FromSeconds(now.TotalSeconds * (1 - fraction) / fraction) : TimeSpan.Zero;
            Console.Error.WriteLine($"{description}: {fraction:P0} ({value.Done}/{value.Total}), elapsed {Durations.Format(now)}, ETA {Durations.Format(eta)}");
        }
    }
}
