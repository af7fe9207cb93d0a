using System.Text.Json;

namespace QuantTune.Training.Data;

/// <summary>
/// One prompt of a prompt-only file (GRPO's data): its token ids (the last ones, where it was cut), the text the model
/// is given (the rendered chat for messages), the record's other fields (such as "answer", for the rewards), and its line.
/// </summary>
public sealed record PromptRecord(int[] Ids, string Text, IReadOnlyDictionary<string, JsonElement> Fields, int Line)
{
    /// <summary>A field as text: a JSON string's value, any other value's JSON; null when the record has no such field.</summary>
    public string? Field(string name) => !Fields.TryGetValue(name, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText();
}
