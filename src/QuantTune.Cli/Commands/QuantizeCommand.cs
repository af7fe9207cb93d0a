using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Models.Loading;
using QuantTune.Quantization;
using QuantTune.Quantization.Models;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class QuantizeCommand
{
    public static Option<string> Scheme() => new("--scheme", "-s") { Description = $"quantization scheme: {QuantizationSchemes.Names}", Required = true };
    public static Option<int?> Block() => new("--block") { Description = "block size (nf4/fp4: power of two 32..4096, default 64; intK: per block of N elements)" };
    public static Option<bool> DoubleQuant() => new("--double-quant") { Description = "nf4/fp4: quantize the absmax constants too (8-bit, blocks of 256)" };
    public static Option<string?> ClipMethod() => new("--clip-method") { Description = "intK: choose the clipping range by percentile, mse or kl (default: none, the absmax or min/max range)" };
    public static Option<string?> Granularity() => new("--granularity") { Description = "intK: tensor, channel or block (default: block when --block is given, else channel)" };
    public static Option<bool> ZeroPoint() => new("--zero-point") { Description = "intK: asymmetric zero-point quantization instead of symmetric absmax" };

    public static Command Create()
    {
        var model = Options.Model().MustBeFolder("quantize", PathKinds.CheckpointFolder);
        var scheme = Scheme();
        var block = Block();
        var dq = DoubleQuant();
        var clipMethod = ClipMethod();
        var oldClipMethod = RenamedOptions.Hidden<string?>("--calibration", "--clip-method");
        var granularity = Granularity();
        var zeroPoint = ZeroPoint();
        var output = new Option<string>("--out", "-o") { Description = "folder for the quantized checkpoint", Required = true }.Writes(isFolder: true);
        var json = Options.Json();
        var cmd = new Command("quantize", "Quantize every linear layer (all but the LM head) and save a checkpoint folder that eval and generate load.")
            { model, scheme, block, dq, clipMethod, oldClipMethod, granularity, zeroPoint, output, json };
        cmd.SetAction(r =>
        {
            var quantizer = QuantizationSchemes.Create(new SchemeOptions(r.GetValue(scheme)!, r.GetValue(block), r.GetValue(dq),
                RenamedOptions.Value(r, clipMethod, oldClipMethod), r.GetValue(granularity), r.GetValue(zeroPoint)));
            var dir = r.GetValue(model)!;
            var outDir = r.GetValue(output)!;
            IO.OutputFolder.RefuseSource(outDir, dir, "--out");
            QuantizedCheckpoint.CheckOutput(dir, outDir);
            using var pm = PretrainedModel.Load(dir);
            var stored = pm.Config.StoredScalarType;
            var result = ProgressDisplay.Run($"quantizing ({quantizer.Scheme})", CliHost.Interactive(r.GetValue(json)),
                p => ModelQuantizer.Quantize(pm.Model, quantizer, stored, progress: p));
            QuantizedCheckpoint.Save(pm.Model, dir, outDir, stored);
            long size = Directory.GetFiles(outDir).Sum(f => new FileInfo(f).Length);
            var summary = new
            {
                scheme = quantizer.Scheme,
                layers = result.Layers.Count,
                bits_per_weight = result.BitsPerWeight,
                weight_mse = result.WeightMse,
                quantized_weight_bytes = result.QuantizedWeightBytes,
                original_weight_bytes = result.OriginalWeightBytes,
                output = outDir,
                output_bytes = size,
            };
            if (r.GetValue(json)) JsonOutput.Write(summary);
            else
                AnsiConsole.MarkupLine($"[green]quantized[/] {result.Layers.Count} linear layers with [bold]{quantizer.Scheme}[/]: " +
                    $"{result.BitsPerWeight:F3} bits/weight (constants included), weights {ModelSummaryView.Bytes(result.OriginalWeightBytes)} → {ModelSummaryView.Bytes(result.QuantizedWeightBytes)}, " +
                    $"weight MSE {result.WeightMse:E3}\nsaved to {Markup.Escape(outDir)} ({ModelSummaryView.Bytes(size)})");
            return 0;
        });
        return cmd;
    }
}
