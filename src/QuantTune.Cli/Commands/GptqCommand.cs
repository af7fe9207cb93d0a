using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Integer;
using QuantTune.Quantization.Models;
using QuantTune.Training.Data;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary><c>quanttune gptq</c>: GPTQ (or RTN on the same grid) layer by layer on calibration text, saved as QuantTune's checkpoint or the GPTQ layout.</summary>
public static class GptqCommand
{
    public static Command Create()
    {
        var model = Options.Model().MustBeFolder("gptq", PathKinds.CheckpointFolder);
        var bits = new Option<int>("--bits") { Description = "bits per weight: 2, 3, 4 or 8", DefaultValueFactory = _ => 4 };
        var group = new Option<int>("--group") { Description = "input columns per scale/zero group (-1: one group per output channel)", DefaultValueFactory = _ => 128 };
        var actOrder = new Option<bool>("--act-order") { Description = "quantize columns by descending Hessian diagonal (desc_act)" };
        var sym = new Option<bool>("--sym") { Description = "symmetric grid as gptq.py: scale 2·max|w|/(2^b − 1), zero 2^(b−1), all 2^b codes" };
        var asym = new Option<bool>("--asym") { Description = "asymmetric (zero point) grid, the default" };
        var samples = new Option<int>("--samples") { Description = "calibration samples", DefaultValueFactory = _ => 128 };
        var seq = new Option<int?>("--seq") { Description = "tokens per calibration sample (default: 2048, at most the model's max positions)" };
        var calibration = new Option<string?>("--calibration-data") { Description = "calibration data file: .txt as it is; .json/.jsonl: each record's \"text\", or an Alpaca record's prompt and output (default: the embedded WikiText-2 train excerpt)" };
        var oldCalibration = RenamedOptions.Hidden<string?>("--calibration", "--calibration-data");
        var seed = new Option<int>("--seed") { Description = "seed of the random calibration windows", DefaultValueFactory = _ => 0 };
        var damp = new Option<double>("--damp") { Description = "dampening: fraction of the mean Hessian diagonal added to it", DefaultValueFactory = _ => 0.01 };
        var rtn = new Option<bool>("--rtn") { Description = "round to nearest on the same grid and groups instead (the baseline; calibration only measures it)" };
        var output = new Option<string>("--out", "-o") { Description = "folder for the quantized checkpoint", Required = true }.Writes(isFolder: true);
        var format = new Option<string>("--format") { Description = "quanttune (QuantTune's checkpoint) or gptq (AutoGPTQ / transformers layout: qweight, qzeros, scales, g_idx)", DefaultValueFactory = _ => "quanttune" };
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("gptq", "GPTQ (IST-DASLab/gptq): quantize every decoder linear layer by layer on calibration text, minimising each layer's output error.")
            { model, bits, group, actOrder, sym, asym, samples, seq, calibration, oldCalibration, seed, damp, rtn, output, format, threads, json };
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            if (r.GetValue(sym) && r.GetValue(asym)) throw new QuantTuneException("--sym and --asym: give one or the other");
            var settings = new GptqSettings(r.GetValue(bits), r.GetValue(group), r.GetValue(sym) ? IntegerMode.Absmax : IntegerMode.ZeroPoint,
                r.GetValue(actOrder), r.GetValue(damp));
            settings.Validate();
            var layout = r.GetValue(format)!.Trim().ToLowerInvariant();
            if (layout is not ("quanttune" or "gptq")) throw new QuantTuneException($"--format {r.GetValue(format)}: expected quanttune or gptq");
            var calibrationFile = RenamedOptions.Value(r, calibration, oldCalibration) ?? Assets.WikiTextTrain;
            if (!File.Exists(calibrationFile)) throw new QuantTuneException($"{calibrationFile}: calibration file not found (--calibration-data)");
            var method = r.GetValue(rtn) ? GptqMethod.RoundToNearest : GptqMethod.Gptq;
            var dir = r.GetValue(model)!;
            bool interactive = CliHost.Interactive(r.GetValue(json));

            IO.OutputFolder.RefuseSource(r.GetValue(output)!, dir, "--out");
            QuantizedCheckpoint.CheckOutput(dir, r.GetValue(output)!, layout == "gptq" ? [GptqCheckpoint.ConfigFile] : []);
            var calibrationText = CorpusText.Read(calibrationFile);
            using var pm = PretrainedModel.Load(dir);
            int length = r.GetValue(seq) ?? Math.Min(2048, pm.Config.MaxPositionEmbeddings);
            if (length > pm.Config.MaxPositionEmbeddings)
                throw new QuantTuneException($"--seq {length}: longer than the model's context ({pm.Config.MaxPositionEmbeddings} tokens, max_position_embeddings); calibration past it would run the model where it was never trained");
            var ids = pm.Tokenizer.Encode(calibrationText);
            var windows = CalibrationWindows.Sample(ids, r.GetValue(samples), length, r.GetValue(seed), calibrationFile);
            var label = method == GptqMethod.Gptq ? settings.Name : settings.Name.Replace("gptq-", "rtn-");
            var result = ProgressDisplay.Run($"{label}: {pm.Config.NumLayers} layers, {windows.Count} × {length} tokens", interactive,
                p => GptqModelQuantizer.Quantize(pm.Model, windows, settings, method, new LayerProgress(p), CliHost.Cancellation));
            var outDir = r.GetValue(output)!;
            if (layout == "gptq") GptqCheckpoint.Save(pm.Model, dir, outDir, settings);
            else QuantizedCheckpoint.Save(pm.Model, dir, outDir, pm.Config.StoredScalarType);
            long size = Directory.GetFiles(outDir).Sum(f => new FileInfo(f).Length);

            if (r.GetValue(json))
                JsonOutput.Write(new
                {
                    scheme = label,
                    method = method == GptqMethod.Gptq ? "gptq" : "rtn",
                    bits = settings.Bits,
                    group_size = settings.GroupSize,
                    act_order = settings.ActOrder,
                    sym = settings.Mode == IntegerMode.Absmax,
                    damp = settings.Damp,
                    samples = result.Samples,
                    seq = result.SequenceLength,
                    calibration = calibrationFile,
                    seconds = result.Seconds,
                    relative_output_error = result.Layers.Average(l => l.RelativeError),
                    rtn_relative_output_error = result.Layers.Average(l => l.RelativeRtnError),
                    layers = result.Layers.Select(l => new
                    {
                        layer = l.Layer,
                        seconds = l.Seconds,
                        relative_output_error = l.RelativeError,
                        rtn_relative_output_error = l.RelativeRtnError,
                        linears = l.Linears.Select(x => new { name = x.Name, rows = x.Rows, columns = x.Columns, output_error = x.Error, rtn_output_error = x.RtnError, signal = x.Signal, seconds = x.Seconds, measure_seconds = x.MeasureSeconds }),
                    }),
                    format = layout,
                    output = outDir,
                    output_bytes = size,
                });
            else Render(result, label, outDir, size);
            return 0;
        });
        return cmd;
    }

    static void Render(GptqModelResult result, string label, string outDir, long size)
    {
        var table = new Table().AddColumns("layer", "time", "output error", "RTN output error", "ratio");
        foreach (var l in result.Layers)
            table.AddRow($"{l.Layer}", $"{l.Seconds:F1} s", $"{l.RelativeError:E3}", $"{l.RelativeRtnError:E3}", Ratio(l.RelativeError, l.RelativeRtnError));
        double error = result.Layers.Average(l => l.RelativeError), rtnError = result.Layers.Average(l => l.RelativeRtnError);
        table.AddRow("[bold]all[/]", $"[bold]{result.Seconds:F1} s[/]", $"[bold]{error:E3}[/]", $"[bold]{rtnError:E3}[/]", $"[bold]{Ratio(error, rtnError)}[/]");
        table.Caption = new TableTitle("relative output error ‖(W − Q)X‖² / ‖WX‖² on the calibration inputs, mean over each layer's linears");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[green]quantized[/] {result.Layers.Sum(l => l.Linears.Count)} linear layers with [bold]{Markup.Escape(label)}[/] " +
            $"on {result.Samples} × {result.SequenceLength} calibration tokens\nsaved to {Markup.Escape(outDir)} ({ModelSummaryView.Bytes(size)})");
    }

    static string Ratio(double a, double b) => b > 0 ? $"{a / b:F3}" : "-";

    /// <summary>Layers done of all, for the progress bar and its ETA.</summary>
    sealed class LayerProgress(IProgress<(long Done, long Total)> inner) : IProgress<GptqLayerReport>
    {
        public void Report(GptqLayerReport value) => inner.Report((value.Layer + 1, value.Layers));
    }
}
