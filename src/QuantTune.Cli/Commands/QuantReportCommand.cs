using System.CommandLine;
using System.Text;
using System.Text.Json;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.IO;
using QuantTune.Models.Loading;
using QuantTune.Quantization;
using QuantTune.Quantization.Activations;
using QuantTune.Quantization.Reports;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class QuantReportCommand
{
    /// <summary>The schemes of the quantization guide, cheapest last within each family.</summary>
    public static IReadOnlyList<ReportScheme> DefaultSchemes() =>
    [
        new("int8 absmax channel", QuantizationSchemes.Create(new("int8", Granularity: "channel"))),
        new("int8 absmax tensor", QuantizationSchemes.Create(new("int8", Granularity: "tensor"))),
        new("W8A8 dynamic", QuantizationSchemes.Create(new("int8", Granularity: "channel")), ActivationMode.Dynamic),
        new("W8A8 static", QuantizationSchemes.Create(new("int8", Granularity: "channel")), ActivationMode.Static),
        new("int4 absmax block32", QuantizationSchemes.Create(new("int4", Block: 32))),
        new("int4 absmax block64", QuantizationSchemes.Create(new("int4", Block: 64))),
        new("int4 absmax block128", QuantizationSchemes.Create(new("int4", Block: 128))),
        new("int4 absmax channel", QuantizationSchemes.Create(new("int4", Granularity: "channel"))),
        new("int4 absmax tensor", QuantizationSchemes.Create(new("int4", Granularity: "tensor"))),
        new("int4 zero-point block64", QuantizationSchemes.Create(new("int4", Block: 64, ZeroPoint: true))),
        new("int4 block64 clip mse", QuantizationSchemes.Create(new("int4", Block: 64, ClipMethod: "mse"))),
        new("int4 channel clip mse", QuantizationSchemes.Create(new("int4", Granularity: "channel", ClipMethod: "mse"))),
        new("int4 channel clip percentile", QuantizationSchemes.Create(new("int4", Granularity: "channel", ClipMethod: "percentile"))),
        new("int4 tensor clip kl", QuantizationSchemes.Create(new("int4", Granularity: "tensor", ClipMethod: "kl"))),
        new("fp4 block64", QuantizationSchemes.Create(new("fp4", Block: 64))),
        new("nf4 block32", QuantizationSchemes.Create(new("nf4", Block: 32))),
        new("nf4 block64", QuantizationSchemes.Create(new("nf4", Block: 64))),
        new("nf4 block64 double-quant", QuantizationSchemes.Create(new("nf4", Block: 64, DoubleQuant: true))),
        new("nf4 block256", QuantizationSchemes.Create(new("nf4", Block: 256))),
        new("int3 absmax block64", QuantizationSchemes.Create(new("int3", Block: 64))),
        new("int2 absmax block32", QuantizationSchemes.Create(new("int2", Block: 32))),
    ];

    public static Command Create()
    {
        var model = Options.Model().MustBeFolder("quant-report", PathKinds.CheckpointFolder);
        var data = new Option<string?>("--data", "-d") { Description = "evaluation text (default: the embedded WikiText-2 test)" };
        var calibration = new Option<string?>("--calibration-data") { Description = "calibration data for static W8A8: .txt as it is; .json/.jsonl: each record's \"text\", or an Alpaca record's prompt and output (default: the embedded WikiText-2 train excerpt)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "evaluate on the first N tokens (0: all)", DefaultValueFactory = _ => 65536 };
        var window = new Option<int>("--window") { Description = "perplexity window", DefaultValueFactory = _ => 256 };
        var output = new Option<string>("--out", "-o") { Description = "folder for report.json, report.md and report.png", DefaultValueFactory = _ => "quant-report" }.Writes(isFolder: true);
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("quant-report", "Quantize the model with every scheme and measure bits/weight, weight MSE, size and perplexity; writes a table and a PNG chart.")
            { model, data, calibration, maxTokens, window, output, threads, json };
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            var dir = r.GetValue(model)!;
            var evalFile = r.GetValue(data) ?? Assets.WikiTextTest;
            var calibrationFile = r.GetValue(calibration) ?? Assets.WikiTextTrain;
            foreach (var f in new[] { evalFile, calibrationFile })
                if (!File.Exists(f)) throw new QuantTuneException($"{f}: data file not found");
            var tokenizer = QuantTune.Tokenization.HfTokenizer.FromDirectory(dir);
            var ids = tokenizer.Encode(File.ReadAllText(evalFile));
            int max = r.GetValue(maxTokens);
            if (max > 0 && ids.Count > max + 1) ids = ids.Take(max + 1).ToList();
            int w = r.GetValue(window);
            var calIds = tokenizer.Encode(QuantTune.Training.Data.CorpusText.Read(calibrationFile));
            var calibrationWindows = Enumerable.Range(0, 16).Where(i => (i + 1) * w <= calIds.Count)
                .Select(i => calIds.Skip(i * w).Take(w).Select(x => (long)x).ToArray()).ToList();
            var schemes = DefaultSchemes();
            var rows = ProgressDisplay.Run($"quant-report ({schemes.Count + 1} rows, {ids.Count - 1:N0} tokens each)", CliHost.Interactive(r.GetValue(json)),
                p => QuantizationReport.Run(dir, schemes, ids, calibrationWindows, w, p, CliHost.Cancellation));
            var outDir = r.GetValue(output)!;
            Write(outDir, dir, evalFile, ids.Count - 1, rows);
            if (r.GetValue(json)) JsonOutput.Write(rows);
            else
            {
                Render(rows);
                AnsiConsole.MarkupLine($"written: {Markup.Escape(Path.Combine(outDir, "report.md"))}, report.json, report.png");
            }
            return 0;
        });
        return cmd;
    }

    static void Render(IReadOnlyList<ReportRow> rows)
    {
        var table = new Table().AddColumns("scheme", "bits/weight", "weight MSE", "model size", "perplexity", "time");
        foreach (var row in rows)
            table.AddRow(row.Scheme, $"{row.BitsPerWeight:F3}", $"{row.WeightMse:E2}", ModelSummaryView.Bytes(row.ModelBytes), $"{row.Perplexity:F3}", $"{row.Seconds:F1} s");
        AnsiConsole.Write(table);
    }

    public static string Markdown(IReadOnlyList<ReportRow> rows)
    {
        var md = new StringBuilder("| scheme | bits/weight (with constants) | weight MSE | model size | perplexity |\n|---|---|---|---|---|\n");
        foreach (var row in rows)
            md.AppendLine($"| {row.Scheme} | {row.BitsPerWeight:F3} | {row.WeightMse:E2} | {ModelSummaryView.Bytes(row.ModelBytes)} | {row.Perplexity:F3} |");
        return md.ToString();
    }

    static void Write(string outDir, string model, string data, int tokens, IReadOnlyList<ReportRow> rows)
    {
        Directory.CreateDirectory(outDir);
        var header = $"Model `{model}`, perplexity on the first {tokens:N0} tokens of `{Path.GetFileName(data)}` (256-token windows), weights of every linear layer but the LM head quantized.\n\n";
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), header + Markdown(rows));
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.json"), JsonSerializer.Serialize(new { model, data, tokens, rows }, new JsonSerializerOptions { WriteIndented = true }));
        QuantTune.Plots.BarChart.Save(Path.Combine(outDir, "report.png"), $"Perplexity by quantization scheme ({Path.GetFileName(model.TrimEnd('/'))})", "perplexity",
            rows.Select(x => x.Scheme).ToList(), rows.Select(x => x.Perplexity).ToList(),
            rows.Select(x => $"{x.BitsPerWeight:F2}b").ToList(), rows[0].Perplexity, "original",
            (rows[0].Perplexity * 0.97, rows[0].Perplexity * 1.10));
    }
}
