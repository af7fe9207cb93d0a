using QuantTune.IO;

namespace QuantTune.Plots;

/// <summary>Bar charts as PNG files (ScottPlot), written atomically.</summary>
public static class BarChart
{
    /// <param name="annotations">a label drawn above each bar (e.g. bits per weight), or null</param>
    public static void Save(string path, string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values,
        IReadOnlyList<string>? annotations = null, double? referenceLine = null, string? referenceLabel = null)
    {
        var plot = new ScottPlot.Plot();
        var bars = labels.Select((l, i) => new ScottPlot.Bar { Position = i, Value = values[i], FillColor = ScottPlot.Colors.SteelBlue }).ToList();
        plot.Add.Bars(bars);
        if (annotations is not null)
            for (int i = 0; i < labels.Count; i++)
            {
                var text = plot.Add.Text(annotations[i], i, values[i]);
                text.LabelFontSize = 11;
                text.LabelAlignment = ScottPlot.Alignment.LowerCenter;
            }
        if (referenceLine is double r)
        {
            var line = plot.Add.HorizontalLine(r);
            line.LineColor = ScottPlot.Colors.OrangeRed;
            line.LinePattern = ScottPlot.LinePattern.Dashed;
            if (referenceLabel is not null) line.LegendText = referenceLabel;
            plot.ShowLegend();
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 40;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 110;
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.Axes.Margins(bottom: 0, top: 0.15);
        var bytes = plot.GetImageBytes(Math.Max(700, 60 * labels.Count + 200), 520, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
