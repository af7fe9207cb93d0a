using QuantTune.Diagnostics;
using QuantTune.IO;

namespace QuantTune.Formats.Ollama;

/// <summary>
/// Writes the Modelfile that lets <c>ollama create NAME -f Modelfile</c> import a GGUF with its chat
/// format: the template of the model's family in Ollama's Go-template form (detected from its Jinja
/// chat template's markers), or the user's own template file; the family's stop strings unless
/// given; an optional system prompt.
/// </summary>
public static class OllamaExport
{
    /// <summary>The first line of every Modelfile written here; an existing Modelfile without it is never replaced.</summary>
    public const string Signature = "Modelfile written by quanttune export ollama";

    public sealed record Options
    {
        /// <summary>The model's Jinja chat template (from its folder or GGUF), null when it has none.</summary>
        public CheckpointChatTemplate.Found? ChatTemplate { get; init; }
        /// <summary>An Ollama Go template to use as is, instead of the family's.</summary>
        public string? TemplateFile { get; init; }
        /// <summary>Stop strings; null: the family's.</summary>
        public IReadOnlyList<string>? Stops { get; init; }
        public string? System { get; init; }
    }

    /// <summary>The Modelfile for <paramref name="ggufPath"/>, to be written at <paramref name="modelfilePath"/>.</summary>
    public static OllamaModelfile Build(string ggufPath, string modelfilePath, Options options)
    {
        var family = options.ChatTemplate is { } found ? ChatTemplateFamilies.Detect(found.Template) : null;
        string template, origin;
        if (options.TemplateFile is { } file)
        {
            if (!File.Exists(file)) throw new InvalidSettingException("OllamaExport.Options.TemplateFile", file, "file not found");
            template = File.ReadAllText(file);
            origin = $"template: {Path.GetFileName(file)} (given)";
        }
        else if (family is { } f)
        {
            var named = OllamaTemplate.For(f);
            template = named.Text;
            origin = $"template: {named.Name}, detected from {options.ChatTemplate!.Source}" +
                (named.Name == "phi-4" ? "" : $"; ollama's template/{named.Name}.gotmpl (github.com/ollama/ollama, MIT)");
        }
        else if (options.ChatTemplate is { } unknown)
            throw new InvalidSettingException("OllamaExport.Options.TemplateFile", null, $"{unknown.Source}: the chat template is of no family with a shipped Ollama template " +
                $"({string.Join(", ", Enum.GetValues<ChatTemplateFamily>().Select(x => x.OllamaName()))}; recognised by their turn markers); " +
                "write the template in Ollama's Go-template form and give it as a file (and its end-of-turn strings as OllamaExport.Options.Stops)");
        else
            throw new InvalidSettingException("OllamaExport.Options.TemplateFile", null, $"{ggufPath}: the model has no chat template (chat_template.jinja, tokenizer_config.json's chat_template, " +
                "or the GGUF's tokenizer.chat_template); give a template file, or the chat template of a checkpoint that has one (OllamaExport.Options.ChatTemplate)");
        var stops = options.Stops ?? (family is { } g && options.TemplateFile is null ? OllamaTemplate.For(g).Stops : []);
        return new OllamaModelfile(OllamaModelfile.FromPath(ggufPath, modelfilePath), template, stops, options.System, $"{Signature}\n{origin}");
    }

    /// <summary>Builds and writes the Modelfile (whole, through a temporary file); refuses to replace one QuantTune did not write.</summary>
    public static OllamaModelfile Write(string ggufPath, string modelfilePath, Options options)
    {
        if (!File.Exists(ggufPath)) throw new QuantTuneException($"{ggufPath}: GGUF file not found");
        var modelfile = Build(ggufPath, modelfilePath, options);
        if (File.Exists(modelfilePath) && !File.ReadLines(modelfilePath).FirstOrDefault("").Contains(Signature, StringComparison.Ordinal))
            throw new QuantTuneException($"{modelfilePath}: exists and was not written by quanttune; move it away or choose another path");
        AtomicFile.WriteAllText(modelfilePath, modelfile.Render());
        return modelfile;
    }
}
