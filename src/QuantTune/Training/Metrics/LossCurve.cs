using QuantTune.IO;

namespace QuantTune.Training.Metrics;

/// <summary>The loss curve as a PNG: training loss per step, evaluation loss where measured.</summary>
public static class LossCurve
{
    public static void Save(string path, IReadOnlyList<StepMetrics> history, string title)
    {
        if (history.Count == 0) return;
        var plot = new ScottPlot.Plot();
        var train = plot.Add.Scatter(history.Select(m => (double)m.Step).ToArray(), history.Select(m => m.Loss).ToArray());
        train.LegendText = "train loss";
        train.MarkerSize = 0;
        var evals = history.Where(m => m.EvalLoss is not null).ToList();
        if (evals.Count > 0)
        {
            var eval = plot.Add.Scatter(evals.Select(m => (double)m.Step).ToArray(), evals.Select(m => m.EvalLoss!.Value).ToArray());
            eval.LegendText = "eval loss";
            eval.MarkerSize = 7;
        }
        plot.ShowLegend();
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats/token)");
        var bytes = plot.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
