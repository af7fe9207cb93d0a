using System.CommandLine;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class ExportCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var adapter = new Option<string?>("--adapter", "-a") { Description = "LoRA/DoRA adapter to merge before exporting" };
        var type = new Option<string>("--type", "-t") { Description = "f32, f16, q8_0 or q4_0", DefaultValueFactory = _ => "q8_0" };
        var output = new Option<string>("--out", "-o") { Description = "the .gguf file to write", Required = true };
        var gguf = new Command("gguf", "Write a llama.cpp GGUF file (llama architecture, gpt2 tokenizer).") { model, adapter, type, output };
        gguf.SetAction(r =>
        {
            var ggmlType = r.GetValue(type)!.ToLowerInvariant() switch
            {
                "f32" => GgmlType.F32,
                "f16" => GgmlType.F16,
                "q8_0" => GgmlType.Q8_0,
                "q4_0" => GgmlType.Q4_0,
                var t => throw new QuantTuneException($"--type {t}: expected f32, f16, q8_0 or q4_0 (K-quants are not written yet)"),
            };
            using var pm = PretrainedModel.Load(r.GetValue(model)!);
            if (r.GetValue(adapter) is string a)
            {
                AdapterIO.Load(pm.Model, a);
                LoraModel.Merge(pm.Model);
            }
            try { GgufExport.Write(pm, r.GetValue(output)!, ggmlType); }
            catch (NotSupportedException e) { throw new QuantTuneException($"{r.GetValue(model)}: {e.Message}"); }
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(r.GetValue(output)!)} ({new FileInfo(r.GetValue(output)!).Length / 1048576.0:F2} MiB, {ggmlType})");
            return 0;
        });
        return new Command("export", "Export a model to another format.") { gguf };
    }
}
