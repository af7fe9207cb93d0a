using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.IO;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The chat template a model folder (or a chosen template) gives, with the BOS/EOS token
/// strings transformers passes to it and where it came from, for the user to see.
/// </summary>
/// <param name="Origin">"tokenizer_config.json", "chat_template.jinja", a file, or "built-in zephyr (the model has none)".</param>
/// <param name="IsBuiltIn">True when the model has no template and a built-in one stands in.</param>
public sealed record ModelChatTemplate(ChatTemplate Template, string Origin, string? BosToken, string? EosToken, bool IsBuiltIn)
{
    /// <summary>The inputs to render with: this model's BOS and EOS strings.</summary>
    public ChatTemplateInputs Inputs(bool addGenerationPrompt) => new() { AddGenerationPrompt = addGenerationPrompt, BosToken = BosToken, EosToken = EosToken };

    /// <summary>
    /// The template of <paramref name="modelDirectory"/>: <paramref name="choice"/> when given (a
    /// .jinja file, a JSON file with <c>chat_template</c>, a named template of the model's list, or
    /// a built-in name: zephyr, chatml); else <c>chat_template.jinja</c>, else the
    /// <c>chat_template</c> of tokenizer_config.json (a string, or a list of named templates: the
    /// one named "default"); else the built-in zephyr template.
    /// </summary>
    public static ModelChatTemplate Load(string modelDirectory, string? choice = null)
    {
        if (File.Exists(modelDirectory) && modelDirectory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return FromGguf(modelDirectory, choice);
        string configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        var names = SpecialTokenNames.Read(configPath);
        string? bos = names.Bos, eos = names.Eos;
        var named = NamedTemplates(configPath);

        if (choice is not null)
        {
            if (File.Exists(choice)) return new(FromFile(choice), choice, bos, eos, false);
            if (named.TryGetValue(choice, out string? source))
                return new(ChatTemplate.Parse($"{configPath} (template '{choice}')", source), $"{configPath} (template '{choice}')", bos, eos, false);
            if (BuiltInChatTemplates.All.TryGetValue(choice, out string? builtIn))
                return new(ChatTemplate.Parse($"built-in {choice.ToLowerInvariant()}", builtIn), $"built-in {choice.ToLowerInvariant()}", bos, eos, true);
            string modelNames = named.Count > 0 ? $", a template of the model ({string.Join(", ", named.Keys)})" : "";
            throw new InvalidSettingException("ModelChatTemplate.Load(choice)", choice, $"no such file; expected a .jinja file, a JSON file with \"chat_template\"{modelNames} or a built-in name ({string.Join(", ", BuiltInChatTemplates.All.Keys)})");
        }

        string jinja = Path.Combine(modelDirectory, "chat_template.jinja");
        if (File.Exists(jinja)) return new(FromFile(jinja), jinja, bos, eos, false);
        if (named.TryGetValue("default", out string? fromConfig))
            return new(ChatTemplate.Parse(configPath, fromConfig), configPath, bos, eos, false);
        string name = BuiltInChatTemplates.Default;
        return new(ChatTemplate.Parse($"built-in {name}", BuiltInChatTemplates.All[name]), $"built-in {name} (the model has no chat template)", bos, eos, true);
    }

    /// <summary>A GGUF file's <c>tokenizer.chat_template</c> (or <paramref name="choice"/>), with its BOS/EOS token texts.</summary>
    private static ModelChatTemplate FromGguf(string path, string? choice)
    {
        using var file = Formats.Gguf.GgufFile.Open(path);
        string[] tokens = file.Metadata.TryGetValue("tokenizer.ggml.tokens", out var t) ? t.AsArray<string>() : [];
        string? Token(string key) => file.Metadata.TryGetValue(key, out var v) && v.AsInt64() is long id && id >= 0 && id < tokens.Length ? tokens[id] : null;
        string? bos = Token("tokenizer.ggml.bos_token_id"), eos = Token("tokenizer.ggml.eos_token_id");
        if (choice is not null)
        {
            if (File.Exists(choice)) return new(FromFile(choice), choice, bos, eos, false);
            if (BuiltInChatTemplates.All.TryGetValue(choice, out string? builtIn))
                return new(ChatTemplate.Parse($"built-in {choice.ToLowerInvariant()}", builtIn), $"built-in {choice.ToLowerInvariant()}", bos, eos, true);
            throw new InvalidSettingException("ModelChatTemplate.Load(choice)", choice, $"no such file; expected a .jinja file, a JSON file with \"chat_template\" or a built-in name ({string.Join(", ", BuiltInChatTemplates.All.Keys)})");
        }
        var (source, _) = Formats.Gguf.GgufChatTemplate.Read(file);
        if (source is not null) return new(ChatTemplate.Parse($"{path} ({Formats.Gguf.GgufChatTemplate.TemplateKey})", source), $"{path} ({Formats.Gguf.GgufChatTemplate.TemplateKey})", bos, eos, false);
        string name = BuiltInChatTemplates.Default;
        return new(ChatTemplate.Parse($"built-in {name}", BuiltInChatTemplates.All[name]), $"built-in {name} (the model has no chat template)", bos, eos, true);
    }

    private static ChatTemplate FromFile(string path)
    {
        string text = File.ReadAllText(path);
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return ChatTemplate.Parse(path, text);
        var named = NamedTemplates(path);
        return named.TryGetValue("default", out string? source) ? ChatTemplate.Parse(path, source)
            : throw new InvalidFormatException(path, "chat_template", "missing; expected a string or a list of {\"name\", \"template\"} with one named \"default\"");
    }

    /// <summary>The <c>chat_template</c> field of a JSON file by name; a plain string is "default".</summary>
    private static Dictionary<string, string> NamedTemplates(string path)
    {
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return templates;
        JsonField root = HfJson.Load(path);
        if (root.Optional("chat_template") is not { } field) return templates;
        JsonElement value = field.Element;
        if (value.ValueKind == JsonValueKind.String)
        {
            templates["default"] = value.GetString()!;
            return templates;
        }
        if (value.ValueKind != JsonValueKind.Array)
            throw new InvalidFormatException(path, "chat_template", $"is a JSON {value.ValueKind.ToString().ToLowerInvariant()}; expected a string or a list of {{\"name\", \"template\"}}");
        int index = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out JsonElement n) || n.ValueKind != JsonValueKind.String
                || !item.TryGetProperty("template", out JsonElement t) || t.ValueKind != JsonValueKind.String)
            {
                throw new InvalidFormatException(path, $"chat_template[{index}]", "expected an object with string \"name\" and \"template\"");
            }
            templates[n.GetString()!] = t.GetString()!;
            index++;
        }
        return templates;
    }
}
