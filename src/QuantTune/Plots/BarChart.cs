using QuantTune.IO;

namespace QuantTune.Plots;

/// <summary>Bar charts as PNG files (ScottPlot), written atomically.</summary>
public static class BarChart
{
    /// <param name="annotations">a label drawn above each bar (e.g. bits per weight), or null</param>
    /// <param name="yRange">the visible value range; bars beyond it are cut at its top and labelled with their value</param>
    public static void Save(string path, string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values,
        IReadOnlyList<string>? annotations = null, double? referenceLine = null, string? referenceLabel = null, (double Low, double High)? yRange = null)
    {
        var plot = new ScottPlot.Plot();
        double top = yRange?.High ?? double.PositiveInfinity;
        var bars = labels.Select((l, i) => new ScottPlot.Bar
        {
            Position = i,
            ValueBase = yRange?.Low ?? 0,
            Value = Math.Min(values[i], top),
            FillColor = values[i] > top ? ScottPlot.Colors.Gray : ScottPlot.Colors.SteelBlue,
        }).ToList();
        plot.Add.Bars(bars);
        for (int i = 0; i < labels.Count; i++)
        {
            var label = (annotations?[i] ?? "") + (values[i] > top ? $" ({values[i]:G4}, off scale)" : "");
            if (label.Length == 0) continue;
            var text = plot.Add.Text(label.Trim(), i, Math.Min(values[i], top));
            text.LabelFontSize = 11;
            text.LabelAlignment = ScottPlot.Alignment.LowerCenter;
        }
        if (referenceLine is double r)
        {
            var line = plot.Add.HorizontalLine(r);
            line.LineColor = ScottPlot.Colors.OrangeRed;
            line.LinePattern = ScottPlot.LinePattern.Dashed;
            if (referenceLabel is not null) line.LegendText = referenceLabel;
            plot.ShowLegend(ScottPlot.Edge.Right);
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        // Rotated so that each label ends under its own bar (matplotlib's rotation=40, ha="right").
        plot.Axes.Bottom.TickLabelStyle.Rotation = -40;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.UpperRight;
        plot.Axes.Bottom.MinimumSize = 170;
        plot.Title(title);
        plot.YLabel(yLabel);
        if (yRange is var (low, high)) plot.Axes.SetLimitsY(low, high + (high - low) * 0.08);
        else plot.Axes.Margins(bottom: 0, top: 0.15);
        var bytes = plot.GetImageBytes(Math.Max(700, 60 * labels.Count + 200), 520, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
