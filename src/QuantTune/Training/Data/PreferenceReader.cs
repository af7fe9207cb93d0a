using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuantTune.Training.Data;

/// <summary>
/// Reads TRL's preference formats from JSON Lines or a JSON array: paired <c>{"prompt", "chosen", "rejected"}</c>
/// and unpaired <c>{"prompt", "completion", "label": true|false}</c>, each in the standard form (strings) or the
/// conversational one (lists of <c>{"role", "content"}</c> messages). A pair without a prompt has the implicit
/// prompt TRL's <c>extract_prompt</c> takes: the longest common prefix of chosen and rejected (messages, or
/// characters, backing off one character when the prefix ends in a space). A bad record is reported with its
/// line and the field at fault, as <see cref="ConversationReader"/> does.
/// </summary>
internal static class PreferenceReader
{
    public const string Expected = "{\"prompt\", \"chosen\", \"rejected\"} or {\"prompt\", \"completion\", \"label\"} objects";

    public static List<PreferenceRecord> Read(string path, ProblemLog log) => JsonRecordReader.ReadRecords(path, log, Expected, Parse);

    public static PreferenceRecord? Parse(JsonRecord json, ProblemLog log)
    {
        JsonElement e = json.Element;
        void Report(string problem) => log.Report(json.Line, $"{json.Where}{problem}");
        if (e.ValueKind != JsonValueKind.Object)
        {
            Report($"is a JSON {JsonRecordReader.Kind(e)}; expected an object with \"chosen\" and \"rejected\", or \"completion\" and \"label\"");
            return null;
        }
        bool paired = e.TryGetProperty("chosen", out _) || e.TryGetProperty("rejected", out _);
        if (!paired && !e.TryGetProperty("completion", out _))
        {
            Report("missing field 'chosen' (or 'completion'); expected a preference pair {\"prompt\", \"chosen\", \"rejected\"} or an unpaired {\"prompt\", \"completion\", \"label\"}");
            return null;
        }
        JsonNode? prompt = null;
        if (e.TryGetProperty("prompt", out _))
        {
            prompt = Part(e, "prompt", Report);
            if (prompt is null) return null;
        }
        if (paired)
        {
            if (Part(e, "chosen", Report) is not { } chosen || Part(e, "rejected", Report) is not { } rejected) return null;
            if (!SameForm(prompt, chosen, "chosen", Report) || !SameForm(chosen, rejected, "rejected", Report)) return null;
            if (prompt is null)
            {
                (prompt, chosen, rejected) = ImplicitPrompt(chosen, rejected);
                if (Empty(chosen) || Empty(rejected))
                {
                    Report($"'chosen' and 'rejected' are the same{(chosen is JsonArray ? " messages" : " text")} after their shared prefix; expected two different completions");
                    return null;
                }
            }
            return new PreferenceRecord(prompt, chosen, rejected, null, json.Line);
        }
        if (prompt is null)
        {
            Report("missing field 'prompt'; an unpaired record needs \"prompt\", \"completion\" and \"label\"");
            return null;
        }
        if (Part(e, "completion", Report) is not { } completion || !SameForm(prompt, completion, "completion", Report)) return null;
        if (!e.TryGetProperty("label", out JsonElement label) || label.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Report($"field 'label' is {(label.ValueKind == JsonValueKind.Undefined ? "missing" : $"a JSON {JsonRecordReader.Kind(label)}")}; expected true (desirable) or false (undesirable)");
            return null;
        }
        return new PreferenceRecord(prompt, completion, null, label.ValueKind == JsonValueKind.True, json.Line);
    }

    /// <summary>A string, or a non-empty list of messages with string roles and contents; null after reporting anything else.</summary>
    static JsonNode? Part(JsonElement record, string field, Action<string> report)
    {
        if (!record.TryGetProperty(field, out JsonElement value))
        {
            report($"missing field '{field}'; expected a string or a list of messages");
            return null;
        }
        if (value.ValueKind == JsonValueKind.String) return JsonValue.Create(value.GetString()!);
        if (value.ValueKind != JsonValueKind.Array)
        {
            report($"field '{field}' is a JSON {JsonRecordReader.Kind(value)}; expected a string or a list of messages");
            return null;
        }
        if (value.GetArrayLength() == 0)
        {
            report($"field '{field}' is an empty list; expected a string or a list of messages");
            return null;
        }
        int i = 0;
        foreach (JsonElement turn in value.EnumerateArray())
        {
            string at = $"{field}[{i++}]";
            if (turn.ValueKind != JsonValueKind.Object)
            {
                report($"field '{at}' is a JSON {JsonRecordReader.Kind(turn)}; expected an object with \"role\" and \"content\"");
                return null;
            }
            foreach (var key in new[] { "role", "content" })
            {
                if (!turn.TryGetProperty(key, out JsonElement v) || v.ValueKind != JsonValueKind.String)
                {
                    report($"field '{at}.{key}' is {(v.ValueKind == JsonValueKind.Undefined ? "missing" : $"a JSON {JsonRecordReader.Kind(v)}")}; expected a string");
                    return null;
                }
            }
        }
        return JsonNode.Parse(value.GetRawText());
    }

    static bool SameForm(JsonNode? first, JsonNode second, string field, Action<string> report)
    {
        if (first is null || (first is JsonArray) == (second is JsonArray)) return true;
        report($"field '{field}' is {(second is JsonArray ? "a list of messages" : "a string")} but the record's other parts are {(first is JsonArray ? "lists of messages" : "strings")}; expected one form (standard strings or conversational messages) throughout");
        return false;
    }

    static bool Empty(JsonNode node) => node is JsonArray a ? a.Count == 0 : node.GetValue<string>().Length == 0;

    /// <summary>TRL's <c>extract_prompt</c>: the longest common prefix of chosen and rejected is the prompt.</summary>
    internal static (JsonNode Prompt, JsonNode Chosen, JsonNode Rejected) ImplicitPrompt(JsonNode chosen, JsonNode rejected)
    {
        if (chosen is JsonArray c && rejected is JsonArray r)
        {
            int n = 0;
            while (n < Math.Min(c.Count, r.Count) && JsonNode.DeepEquals(c[n], r[n])) n++;
            JsonArray Slice(JsonArray a, int from, int to) => new([.. a.Skip(from).Take(to - from).Select(m => m!.DeepClone())]);
            return (Slice(c, 0, n), Slice(c, n, c.Count), Slice(r, n, r.Count));
        }
        string cs = chosen.GetValue<string>(), rs = rejected.GetValue<string>();
        int idx = 0, limit = Math.Min(cs.Length, rs.Length);
        while (idx < limit && cs[idx] == rs[idx]) idx++;
        // TRL: the space before the first differing character goes with the completions.
        if (idx < limit && idx > 0 && cs[idx - 1] == ' ') idx--;
        return (JsonValue.Create(cs[..idx]), JsonValue.Create(cs[idx..]), JsonValue.Create(rs[idx..]));
    }
}
