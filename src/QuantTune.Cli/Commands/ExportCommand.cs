using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models.Loading;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary>
/// <c>export gguf</c>: a model (optionally with a LoRA/DoRA adapter merged in) as a llama.cpp GGUF
/// file in one of llama-quantize's file types; <c>export gguf-adapter</c>: a PEFT LoRA adapter as a
/// llama.cpp LoRA adapter GGUF, to apply on top of the base model's GGUF.
/// </summary>
public static class ExportCommand
{
    public static Command Create() => new("export", "Export a model or an adapter to another format.") { Gguf(), GgufAdapter(), ExportOllamaCommand.Create() };

    static Command Gguf()
    {
        var model = Options.Model().MustBeFolder("export gguf", PathKinds.CheckpointFolder);
        var adapter = new Option<string?>("--adapter", "-a") { Description = "LoRA/DoRA adapter to merge before exporting" };
        var type = new Option<string>("--type", "-t") { Description = $"llama.cpp file type (tensor mixture): {string.Join(", ", LlamaFileTypes.Names)}", DefaultValueFactory = _ => "q8_0" };
        var output = new Option<string>("--out", "-o") { Description = "the .gguf file to write", Required = true }.Writes(isFolder: false);
        var pre = new Option<string?>("--gguf-pre") { Description = "tokenizer.ggml.pre to write instead of the name llama.cpp's converter gives this tokenizer (needed when it knows none)" };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "the chat template to write as tokenizer.chat_template (a file, a template name of the model, zephyr or chatml); default: the model's own, none if it has none" };
        var json = Options.Json();
        var gguf = new Command("gguf", $"Write a llama.cpp GGUF file (architecture {string.Join(", ", GgufArchitectures.Names)}, as llama.cpp's converter names the family), each tensor typed as llama-quantize's mixture for --type does.") { model, adapter, type, output, pre, chatTemplate, json };
        gguf.SetAction(r =>
        {
            var fileType = ParseType(r.GetValue(type)!, LlamaFileTypes.Names);
            var path = r.GetValue(output)!;
            GgufWriter.CheckOutput(path);
            using var pm = PretrainedModel.Load(r.GetValue(model)!);
            if (r.GetValue(adapter) is string a)
            {
                AdapterIO.Load(pm.Model, a);
                LoraModel.Merge(pm.Model);
            }
            var preTokenizer = LlamaCppPreTokenizer.Choose(pm.Tokenizer, Path.Combine(pm.Directory, "tokenizer.json"), r.GetValue(pre));
            IReadOnlyDictionary<string, GgmlType> plan;
            try
            {
                plan = ProgressDisplay.Run($"writing GGUF {fileType}", CliHost.Interactive(r.GetValue(json)),
                    p => GgufExport.Write(pm, path, fileType, p, preTokenizer.Name, r.GetValue(chatTemplate)));
            }
            catch (NotSupportedException e) { throw new QuantTuneException($"{r.GetValue(model)}: {e.Message}"); }
            var types = plan.Values.GroupBy(t => t).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key.ToString(), g => g.Count());
            long bytes = new FileInfo(path).Length;
            if (r.GetValue(json)) JsonOutput.Write(new { path, bytes, file_type = fileType.ToString(), tensors = plan.Count, tensor_types = types, tokenizer_pre = preTokenizer.Name, tokenizer_pre_reason = preTokenizer.Reason });
            else
            {
                AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)} ({bytes / 1048576.0:F2} MiB, {fileType}: {string.Join(", ", types.Select(t => $"{t.Value} × {t.Key}"))})");
                AnsiConsole.MarkupLine($"tokenizer.ggml.pre = {Markup.Escape(preTokenizer.Name)} ({Markup.Escape(preTokenizer.Reason)})");
            }
            return 0;
        });
        return gguf;
    }

    static Command GgufAdapter()
    {
        var model = Options.Model().MustBeFolder("export gguf-adapter", PathKinds.CheckpointFolder);
        var adapter = new Option<string>("--adapter", "-a") { Description = "the PEFT LoRA adapter folder to convert", Required = true }.MustBeFolder("export gguf-adapter", PathKinds.PeftAdapterFolder);
        var type = new Option<string>("--type", "-t") { Description = "tensor type: f32 or f16", DefaultValueFactory = _ => "f32" };
        var output = new Option<string>("--out", "-o") { Description = "the adapter .gguf file to write", Required = true }.Writes(isFolder: false);
        var cmd = new Command("gguf-adapter", "Write a LoRA adapter as a llama.cpp LoRA adapter GGUF (llama-cli --lora, or quanttune --adapter FILE.gguf); reads only the base model's config.json.")
            { model, adapter, type, output };
        cmd.SetAction(r =>
        {
            var fileType = ParseType(r.GetValue(type)!, GgufLoraExport.FileTypes.Select(t => t.Name()).ToList());
            var path = r.GetValue(output)!;
            GgufWriter.CheckOutput(path);
            try { GgufLoraExport.Write(r.GetValue(model)!, r.GetValue(adapter)!, path, fileType); }
            catch (NotSupportedException e) { throw new QuantTuneException($"{r.GetValue(model)}: {e.Message}"); }
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)} ({new FileInfo(path).Length / 1048576.0:F2} MiB, LoRA adapter, {fileType})");
            return 0;
        });
        return cmd;
    }

    internal static LlamaFileType ParseType(string name, IReadOnlyList<string> allowed) =>
        allowed.Contains(name.ToLowerInvariant()) && LlamaFileTypes.Parse(name) is LlamaFileType t ? t
        : throw new QuantTuneException($"--type {name}: expected one of {string.Join(", ", allowed)}");
}
