using System.Reflection;

namespace QuantTune.Formats.Ollama;

/// <summary>
/// An Ollama prompt template (Go template over <c>.Messages</c>, <c>.System</c>) and its stop
/// strings. The templates are ollama's own <c>template/*.gotmpl</c>, copied with attribution
/// (Formats/Ollama/Templates/README.md), embedded in the library.
/// </summary>
public sealed record OllamaTemplate(string Name, string Text, IReadOnlyList<string> Stops)
{
    public static OllamaTemplate For(ChatTemplateFamily family)
    {
        var name = family.OllamaName();
        return new OllamaTemplate(name, Embedded(name), StopsOf(family));
    }

    /// <summary>The end-of-turn and turn-start strings generation stops at (ollama's template/&lt;name&gt;.json).</summary>
    static string[] StopsOf(ChatTemplateFamily family) => family switch
    {
        ChatTemplateFamily.Llama3 => ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        ChatTemplateFamily.ChatML => ["<|im_start|>", "<|im_end|>"],
        ChatTemplateFamily.Phi4 => ["<|im_start|>", "<|im_end|>", "<|im_sep|>"],
        ChatTemplateFamily.Gemma => ["<start_of_turn>", "<end_of_turn>"],
        ChatTemplateFamily.Gemma3 => ["<end_of_turn>"],
        ChatTemplateFamily.Phi3 => ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"],
        ChatTemplateFamily.Mistral => ["[INST]", "[/INST]", "</s>"],
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    static string Embedded(string name)
    {
        var assembly = typeof(OllamaTemplate).Assembly;
        using var stream = assembly.GetManifestResourceStream($"QuantTune.Formats.Ollama.Templates.{name}.gotmpl")
            ?? throw new InvalidOperationException($"the embedded Ollama template {name}.gotmpl is missing from {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
