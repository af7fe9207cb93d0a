using QuantTune.IO;

namespace QuantTune.Plots;

/// <summary>Stacked bars as PNG (e.g. M1/M2/M3 memory per method), written atomically.</summary>
public static class StackedBarChart
{
    static readonly ScottPlot.Color[] Palette = [ScottPlot.Colors.SteelBlue, ScottPlot.Colors.DarkOrange, ScottPlot.Colors.SeaGreen, ScottPlot.Colors.Gray];

    public static void Save(string path, string title, string yLabel, IReadOnlyList<string> labels,
        IReadOnlyList<(string Name, double[] Values)> series, IReadOnlyList<string>? annotations = null)
    {
        var plot = new ScottPlot.Plot();
        var bars = new List<ScottPlot.Bar>();
        var tops = new double[labels.Count];
        for (int s = 0; s < series.Count; s++)
        {
            for (int i = 0; i < labels.Count; i++)
            {
                bars.Add(new ScottPlot.Bar { Position = i, ValueBase = tops[i], Value = tops[i] + series[s].Values[i], FillColor = Palette[s % Palette.Length] });
                tops[i] += series[s].Values[i];
            }
        }
        plot.Add.Bars(bars);
        for (int s = 0; s < series.Count; s++)
            plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = series[s].Name, FillColor = Palette[s % Palette.Length] });
        if (annotations is not null)
            for (int i = 0; i < labels.Count; i++)
            {
                var t = plot.Add.Text(annotations[i], i, tops[i]);
                t.LabelFontSize = 12;
                t.LabelAlignment = ScottPlot.Alignment.LowerCenter;
            }
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.2);
        plot.Title(title);
        plot.YLabel(yLabel);
        var bytes = plot.GetImageBytes(Math.Max(640, 160 * labels.Count + 200), 480, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
