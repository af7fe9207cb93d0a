using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The chat metadata of a GGUF file, what llama.cpp's <c>llama-cli -cnv</c> and <c>llama-server</c>
/// format conversations with: <c>tokenizer.chat_template</c> (the Jinja source) and
/// <c>tokenizer.ggml.eot_token_id</c> (the end-of-turn token; EOS has its own key).
/// </summary>
public static class GgufChatTemplate
{
    public const string TemplateKey = "tokenizer.chat_template";
    public const string EndOfTurnKey = "tokenizer.ggml.eot_token_id";

    /// <summary>Writes the template of <paramref name="modelDirectory"/> (or <paramref name="choice"/>) and its end-of-turn id; a built-in template only when chosen.</summary>
    /// <returns>Where the template came from, or null when none was written (the model has none and none was chosen).</returns>
    public static string? Add(GgufWriter w, string modelDirectory, HfTokenizer tokenizer, Models.Config.ModelConfig config, string? choice)
    {
        var template = ModelChatTemplate.Load(modelDirectory, choice);
        int? eos = tokenizer.EosId ?? (config.EosTokenIds.Length > 0 ? config.EosTokenIds[0] : null);
        var ends = EndOfTurnTokens.Find(modelDirectory, tokenizer, config.EosTokenIds, template.EosToken);
        if (EndOfTurnTokens.EndOfTurnId(ends, tokenizer, eos) is int eot) w.Add(EndOfTurnKey, GgufValue.Of((uint)eot));
        if (template.IsBuiltIn && choice is null) return null;
        w.Add(TemplateKey, GgufValue.Of(template.Template.Source));
        return template.Origin;
    }

    /// <summary>The template and end-of-turn id a GGUF file carries (null where absent).</summary>
    public static (string? Template, int? EndOfTurn) Read(GgufFile file) => (
        file.Metadata.TryGetValue(TemplateKey, out var t) ? t.AsString() : null,
        file.Metadata.TryGetValue(EndOfTurnKey, out var e) ? (int)e.AsInt64() : null);
}
