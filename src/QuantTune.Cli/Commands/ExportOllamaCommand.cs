using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Ollama;
using QuantTune.Models.Loading;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary>
/// <c>export ollama</c>: a Modelfile next to a GGUF (given with --gguf, or exported first from --model
/// to --out), with the chat template of the model's family in Ollama's form, its stop strings and an
/// optional system prompt; then <c>ollama create NAME -f Modelfile</c>.
/// </summary>
public static class ExportOllamaCommand
{
    public static Command Create()
    {
        var model = Options.Model(required: false);
        model.Description = "the checkpoint (folder or Hub id) whose chat template the Modelfile follows; without --gguf, also the weights exported to --out";
        var gguf = new Option<string?>("--gguf") { Description = "an existing GGUF file to write the Modelfile for (its tokenizer.chat_template is read when --model is not given)" };
        var output = new Option<string?>("--out", "-o") { Description = "the .gguf file to export from --model first (when --gguf is not given)" }.Writes(isFolder: false);
        var type = new Option<string>("--type", "-t") { Description = $"llama.cpp file type of the export: {string.Join(", ", LlamaFileTypes.Names)}", DefaultValueFactory = _ => "q8_0" };
        var modelfile = new Option<string?>("--modelfile") { Description = $"where to write the Modelfile (default: {OllamaModelfile.FileName} in the GGUF's folder)" };
        var system = new Option<string?>("--system") { Description = "a system prompt (SYSTEM)" };
        var templateFile = new Option<string?>("--template-file") { Description = "an Ollama Go template to use instead of the family's (needed when the model's template family is not recognised)" };
        var stop = new Option<string[]>("--stop") { Description = "a stop string (repeat for several); default: the template family's end-of-turn markers" };
        var json = Options.Json();
        var cmd = new Command("ollama", "Write an Ollama Modelfile (FROM, TEMPLATE, PARAMETER stop, SYSTEM) next to a GGUF, exporting the GGUF first when asked; then: ollama create NAME -f Modelfile.")
            { model, gguf, output, type, modelfile, system, templateFile, stop, json };
        cmd.SetAction(r =>
        {
            var modelPath = r.GetValue(model);
            var ggufPath = r.GetValue(gguf);
            if (ggufPath is null)
            {
                var outPath = r.GetValue(output) ?? throw new QuantTuneException("export ollama: give --gguf FILE (an existing GGUF) or --model and --out FILE.gguf (to export one)");
                if (modelPath is null) throw new QuantTuneException("--out: exporting a GGUF needs --model (the checkpoint to export)");
                if (File.Exists(modelPath) && PathKinds.IsGguf(modelPath))
                    throw new QuantTuneException($"--model {modelPath}: is a GGUF file already; pass it as --gguf");
                var fileType = ExportCommand.ParseType(r.GetValue(type)!, LlamaFileTypes.Names);
                using var pm = PretrainedModel.Load(modelPath);
                try { ProgressDisplay.Run($"writing GGUF {fileType}", CliHost.Interactive(r.GetValue(json)), p => GgufExport.Write(pm, outPath, fileType, p)); }
                catch (NotSupportedException e) { throw new QuantTuneException($"{modelPath}: {e.Message}"); }
                ggufPath = outPath;
            }
            else if (r.GetValue(output) is not null) throw new QuantTuneException("--gguf and --out: give --gguf for an existing GGUF, or --out to export one, not both");
            if (!File.Exists(ggufPath) || !PathKinds.IsGguf(ggufPath)) throw new QuantTuneException($"--gguf {ggufPath}: not a GGUF file");
            var target = r.GetValue(modelfile) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ggufPath))!, OllamaModelfile.FileName);
            var stops = r.GetValue(stop) is { Length: > 0 } s ? s : null;
            var written = OllamaExport.Write(ggufPath, target, new OllamaExport.Options
            {
                ChatTemplate = CheckpointChatTemplate.Read(modelPath ?? ggufPath),
                TemplateFile = r.GetValue(templateFile),
                Stops = stops,
                System = r.GetValue(system),
            });
            if (r.GetValue(json)) JsonOutput.Write(new { modelfile = target, gguf = ggufPath, from = written.From, stops = written.Stops, system = written.System });
            else
            {
                AnsiConsole.MarkupLine($"wrote {Markup.Escape(target)} (FROM {Markup.Escape(written.From)}, {written.Stops.Count} stop strings{(written.System is null ? "" : ", a system prompt")})");
                AnsiConsole.MarkupLine($"import it with: ollama create NAME -f {Markup.Escape(target)}");
            }
            return 0;
        });
        return cmd;
    }
}
