using QuantTune.IO;
using QuantTune.Training.Metrics;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>GRPO's reward curve as a PNG: the mean reward of each step's completions, and the mean within-group standard deviation beside it.</summary>
public static class RewardCurve
{
    public static void Save(string path, IReadOnlyList<StepMetrics> history, string title)
    {
        var points = history.Select(m => (Step: (double)m.Step, Reward: m.Metric(GrpoStep.Reward), Std: m.Metric(GrpoStep.RewardStd)))
            .Where(p => p.Reward is not null).ToList();
        if (points.Count == 0) return;
        var plot = new ScottPlot.Plot();
        var reward = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Reward!.Value).ToArray());
        reward.LegendText = "mean reward";
        reward.MarkerSize = points.Count == 1 ? 5 : 3;
        var std = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Std ?? double.NaN).ToArray());
        std.LegendText = "reward std within groups";
        std.MarkerSize = 0;
        int first = (int)points[0].Step, last = (int)points[^1].Step;
        var ticks = LossCurve.IntegerTicks(first, last);
        plot.Axes.Bottom.SetTicks(ticks.Select(t => (double)t).ToArray(), ticks.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimitsX(first - 0.5, last + 0.5);
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("reward");
        var bytes = plot.GetImageBytes(1000, 500, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
