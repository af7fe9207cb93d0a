using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;

namespace QuantTune.Formats.Ollama;

/// <summary>
/// The Jinja chat template a model carries, found where transformers looks: <c>chat_template.jinja</c>
/// in the checkpoint folder, else <c>chat_template</c> in <c>tokenizer_config.json</c> (a string, or a
/// list of named templates of which "default" is taken); or a GGUF file's <c>tokenizer.chat_template</c>.
/// </summary>
public static class CheckpointChatTemplate
{
    public sealed record Found(string Template, string Source);

    /// <summary>The template of a checkpoint folder or a GGUF file, or null when it has none.</summary>
    public static Found? Read(string modelPath)
    {
        if (File.Exists(modelPath) && GgufFile.StartsWithMagic(modelPath))
        {
            using var gguf = GgufFile.Open(modelPath);
            return gguf.Metadata.TryGetValue("tokenizer.chat_template", out var v) && v.Value is string t && t.Length > 0
                ? new Found(t, $"{modelPath} (tokenizer.chat_template)") : null;
        }
        var folder = File.Exists(modelPath) ? Path.GetDirectoryName(Path.GetFullPath(modelPath))! : modelPath;
        var jinja = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinja)) return new Found(File.ReadAllText(jinja), jinja);
        var config = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(config)) return null;
        JsonDocument json;
        try { json = JsonDocument.Parse(File.ReadAllBytes(config)); }
        catch (JsonException e) { throw new InvalidFormatException(config, null, $"not valid JSON ({e.Message})", e); }
        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty("chat_template", out var field) || field.ValueKind == JsonValueKind.Null) return null;
            if (field.ValueKind == JsonValueKind.String) return new Found(field.GetString()!, $"{config} (chat_template)");
            if (field.ValueKind == JsonValueKind.Array)
            {
                foreach (var named in field.EnumerateArray())
                    if (named.ValueKind == JsonValueKind.Object && named.TryGetProperty("name", out var n) && n.GetString() == "default"
                        && named.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                        return new Found(t.GetString()!, $"{config} (chat_template 'default')");
                throw new InvalidFormatException(config, "chat_template", "a list of named templates without one named 'default'");
            }
            throw new InvalidFormatException(config, "chat_template", $"is {field.ValueKind}; expected a string or a list of {{name, template}} objects");
        }
    }
}
