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
