using QuantTune.IO;

namespace QuantTune.Training.Metrics;

/// <summary>
/// The loss curve as a PNG: training loss per step, evaluation loss where measured (from step 0,
/// the held-out loss before training, when it is known); integer step ticks and the legend
/// beside the data, not over it.
/// </summary>
public static class LossCurve
{
    public static void Save(string path, IReadOnlyList<StepMetrics> history, string title, double? initialEvalLoss = null)
    {
        if (history.Count == 0) return;
        var plot = new ScottPlot.Plot();
        var train = plot.Add.Scatter(history.Select(m => (double)m.Step).ToArray(), history.Select(m => m.Loss).ToArray());
        train.LegendText = "train loss";
        train.MarkerSize = history.Count == 1 ? 5 : 0;
        var evals = history.Where(m => m.EvalLoss is not null).Select(m => ((double)m.Step, m.EvalLoss!.Value)).ToList();
        if (initialEvalLoss is double initial && double.IsFinite(initial)) evals.Insert(0, (0, initial));
        if (evals.Count > 0)
        {
            var eval = plot.Add.Scatter(evals.Select(e => e.Item1).ToArray(), evals.Select(e => e.Item2).ToArray());
            eval.LegendText = "held-out loss";
            eval.MarkerSize = 7;
        }
        int first = evals.Count > 0 ? 0 : history[0].Step, last = history[^1].Step;
        var ticks = IntegerTicks(first, last);
        plot.Axes.Bottom.SetTicks(ticks.Select(t => (double)t).ToArray(), ticks.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimitsX(first - 0.5, last + 0.5);
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats/token)");
        var bytes = plot.GetImageBytes(1000, 500, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Whole-number steps from <paramref name="first"/> to <paramref name="last"/>, at most about ten, at a step of 1, 2 or 5 × 10ⁿ.</summary>
    public static IReadOnlyList<int> IntegerTicks(int first, int last)
    {
        int span = Math.Max(1, last - first);
        int step = 1;
        foreach (var magnitude in new[] { 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000 })
        {
            step = new[] { 1, 2, 5 }.Select(m => m * magnitude).FirstOrDefault(s => span / s <= 10);
            if (step > 0) break;
        }
        if (step == 0) step = (int)Math.Ceiling(span / 10.0);
        int start = (int)Math.Ceiling(first / (double)step) * step;
        var ticks = new List<int>();
        for (int t = start; t <= last; t += step) ticks.Add(t);
        return ticks;
    }
}
