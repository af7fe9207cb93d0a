using System.Text.Json.Nodes;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Training.Data;

/// <summary>
/// Where each assistant turn lies in a rendered conversation, found as TRL does for templates
/// without generation tags: render the messages before turn <c>i</c> with the generation prompt;
/// the turn starts where that text ends. It ends where the messages up to and including it end
/// when that render is the start of the whole conversation; otherwise (templates that render the
/// last turn differently, Qwen3's empty think block) at the first end-of-turn text after its
/// start, the text that the template writes after any assistant content.
/// </summary>
internal static class AssistantSpans
{
    /// <summary>The whole rendered conversation and the [start, end) character spans of its assistant turns.</summary>
    /// <exception cref="ChatTemplateException">The template raises, or a turn cannot be located (the message says which).</exception>
    public static (string Text, List<(int Start, int End)> Spans) Find(ModelChatTemplate model, JsonArray messages)
    {
        string full = Render(model, messages, messages.Count, false);
        var spans = new List<(int, int)>();
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i]!["role"]!.GetValue<string>() != "assistant") continue;
            string before = Render(model, messages, i, true);
            if (!full.StartsWith(before, StringComparison.Ordinal))
                throw new ChatTemplateException(model.Template.Name, 0, $"the text before assistant turn {i} is not the start of the rendered conversation, so the turn cannot be located");
            string through = Render(model, messages, i + 1, false);
            int end;
            if (full.StartsWith(through, StringComparison.Ordinal) && through.Length > before.Length)
            {
                end = through.Length;
            }
            else
            {
                string ending = EndOfTurn(model, messages, i, through);
                int at = ending.Length == 0 ? -1 : full.IndexOf(ending, before.Length, StringComparison.Ordinal);
                if (at < 0)
                    throw new ChatTemplateException(model.Template.Name, 0, $"assistant turn {i}: its end in the rendered conversation cannot be found");
                end = at + ending.Length;
            }
            spans.Add((before.Length, end));
        }
        return (full, spans);
    }

    private static string Render(ModelChatTemplate model, JsonArray messages, int count, bool generationPrompt) =>
        model.Template.Render(new JsonArray(messages.Take(count).Select(m => m!.DeepClone()).ToArray()), model.Inputs(generationPrompt));

    /// <summary>The text after the content of the last assistant turn: the common end of two renders whose last contents differ.</summary>
    private static string EndOfTurn(ModelChatTemplate model, JsonArray messages, int i, string through)
    {
        var probe = new JsonArray(messages.Take(i + 1).Select(m => m!.DeepClone()).ToArray());
        probe[i]!["content"] = "\u0001";
        string other = model.Template.Render(probe, model.Inputs(false));
        int n = 0;
        while (n < through.Length && n < other.Length && through[^(n + 1)] == other[^(n + 1)]) n++;
        return through[^n..];
    }
}
