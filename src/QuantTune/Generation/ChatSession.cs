using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Generation;

/// <summary>
/// A conversation with a model: the history (an optional system prompt, then user and assistant
/// turns) rendered with the model's chat template for each new user turn, and the end-of-turn ids
/// a reply stops at.
/// </summary>
public sealed class ChatSession(ModelChatTemplate template, HfTokenizer tokenizer, IReadOnlyList<int> endOfTurn, string? systemPrompt = null)
{
    /// <summary>
    /// The conversation for a loaded model: the chat template of <paramref name="templateFolder"/> (the model's folder
    /// by default; <paramref name="choice"/> picks a named, built-in or file template), and the end-of-turn ids from
    /// generation_config.json, config.json, the tokenizer, the template and a GGUF's <c>tokenizer.ggml.eot_token_id</c>.
    /// </summary>
    /// <exception cref="Diagnostics.QuantTuneException">The model has no end-of-turn token, so a reply could not stop.</exception>
    public static ChatSession For(Models.Loading.PretrainedModel pm, string? templateFolder = null, string? choice = null, string? systemPrompt = null)
    {
        var template = ModelChatTemplate.Load(templateFolder ?? pm.Directory, choice);
        var ends = EndOfTurnTokens.Find(pm.Directory, pm.Tokenizer, pm.Config.EosTokenIds, template.EosToken).ToList();
        if (pm.Directory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            using var file = Formats.Gguf.GgufFile.Open(pm.Directory);
            if (Formats.Gguf.GgufChatTemplate.Read(file).EndOfTurn is int eot && !ends.Contains(eot)) ends.Add(eot);
        }
        if (ends.Count == 0)
            throw new Diagnostics.QuantTuneException($"{pm.Directory}: no end-of-turn token (no eos_token_id in config.json or generation_config.json, no EOS in the tokenizer); a reply could not stop");
        return new ChatSession(template, tokenizer: pm.Tokenizer, ends, systemPrompt);
    }

    private readonly List<ChatMessage> _history = systemPrompt is { Length: > 0 } s ? [new ChatMessage("system", s)] : [];

    public IReadOnlyList<ChatMessage> History => _history;

    public IReadOnlyList<int> EndOfTurn { get; } = endOfTurn;

    public ModelChatTemplate Template { get; } = template;

    /// <summary>Forgets every turn but the system prompt.</summary>
    public void Reset() => _history.RemoveAll(m => m.Role != "system");

    /// <summary>Adds the user's turn and returns the prompt ids: the whole history rendered, ending with the assistant's generation prompt.</summary>
    public int[] Ask(string user)
    {
        _history.Add(new ChatMessage("user", user));
        string prompt = Template.Template.Render(_history, Template.Inputs(addGenerationPrompt: true));
        return [.. tokenizer.Encode(prompt)];
    }

    /// <summary>Takes back the last user turn (its reply could not be generated).</summary>
    public void Retract()
    {
        if (_history.Count > 0 && _history[^1].Role == "user") _history.RemoveAt(_history.Count - 1);
    }

    public void Answer(string reply) => _history.Add(new ChatMessage("assistant", reply));
}
