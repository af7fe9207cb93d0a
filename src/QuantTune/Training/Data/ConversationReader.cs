using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuantTune.Training.Data;

/// <summary>
/// Reads conversations from JSON Lines or a JSON array: <c>{"messages": [{"role", "content"}]}</c>
/// (the OpenAI/TRL format) or ShareGPT's <c>{"conversations": [{"from", "value"}]}</c> (from:
/// human/user, gpt/assistant/model, system, tool/function/observation) with an optional
/// top-level <c>"system"</c> prompt. Every conversation needs an assistant turn. A bad record
/// is reported with its line and the field at fault, e.g. <c>messages[2].content</c>.
/// </summary>
internal static class ConversationReader
{
    public const string Expected = "{\"messages\": [{\"role\", \"content\"}]} or {\"conversations\": [{\"from\", \"value\"}]} objects";

    private static readonly Dictionary<string, string> ShareGptRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["human"] = "user", ["user"] = "user", ["gpt"] = "assistant", ["assistant"] = "assistant", ["model"] = "assistant",
        ["chatgpt"] = "assistant", ["bing"] = "assistant", ["system"] = "system", ["tool"] = "tool", ["function"] = "tool",
        ["function_response"] = "tool", ["observation"] = "tool",
    };

    /// <summary>True when a JSON record looks like a conversation (used to tell the format from the first record).</summary>
    public static bool LooksLikeConversation(JsonElement first) =>
        first.ValueKind == JsonValueKind.Object && (first.TryGetProperty("messages", out _) || first.TryGetProperty("conversations", out _));

    public static List<ConversationRecord> Read(string path, ProblemLog log) => JsonRecordReader.ReadRecords(path, log, Expected, Parse);

    public static ConversationRecord? Parse(JsonRecord json, ProblemLog log)
    {
        JsonElement e = json.Element;
        void Report(string problem) => log.Report(json.Line, $"{json.Where}{problem}");
        if (e.ValueKind != JsonValueKind.Object)
        {
            Report($"is a JSON {JsonRecordReader.Kind(e)}; expected an object with \"messages\" or \"conversations\"");
            return null;
        }

        var messages = new JsonArray();
        if (e.TryGetProperty("messages", out JsonElement list))
        {
            if (!Turns(list, "messages", "role", "content", role => role, Report, messages)) return null;
        }
        else if (e.TryGetProperty("conversations", out JsonElement shareGpt))
        {
            if (e.TryGetProperty("system", out JsonElement system))
            {
                if (system.ValueKind != JsonValueKind.String)
                {
                    Report($"field 'system' is a JSON {JsonRecordReader.Kind(system)}; expected a string");
                    return null;
                }
                if (system.GetString()!.Length > 0) messages.Add(new JsonObject { ["role"] = "system", ["content"] = system.GetString() });
            }
            if (!Turns(shareGpt, "conversations", "from", "value", from => ShareGptRoles.GetValueOrDefault(from), Report, messages)) return null;
        }
        else
        {
            Report("missing field 'messages' (or ShareGPT's 'conversations'); expected a list of turns");
            return null;
        }

        if (!messages.Any(m => m!["role"]!.GetValue<string>() == "assistant"))
        {
            Report("has no assistant turn; expected at least one message with role 'assistant' to learn from");
            return null;
        }
        return new ConversationRecord(messages, json.Line);
    }

    private static bool Turns(JsonElement list, string field, string roleField, string contentField, Func<string, string?> role,
        Action<string> report, JsonArray messages)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            report($"field '{field}' is {(list.ValueKind == JsonValueKind.Array ? "an empty list" : $"a JSON {JsonRecordReader.Kind(list)}")}; expected a list of turns");
            return false;
        }
        int i = 0;
        foreach (JsonElement turn in list.EnumerateArray())
        {
            string at = $"{field}[{i++}]";
            if (turn.ValueKind != JsonValueKind.Object)
            {
                report($"field '{at}' is a JSON {JsonRecordReader.Kind(turn)}; expected an object with \"{roleField}\" and \"{contentField}\"");
                return false;
            }
            if (!turn.TryGetProperty(roleField, out JsonElement r) || r.ValueKind != JsonValueKind.String)
            {
                report($"field '{at}.{roleField}' is {(r.ValueKind == JsonValueKind.Undefined ? "missing" : $"a JSON {JsonRecordReader.Kind(r)}")}; expected a string");
                return false;
            }
            string? mapped = role(r.GetString()!);
            if (mapped is null or "")
            {
                report($"field '{at}.{roleField}' is '{r.GetString()}'; expected {(roleField == "from" ? "human, gpt, system or tool" : "a role such as system, user or assistant")}");
                return false;
            }
            if (!turn.TryGetProperty(contentField, out JsonElement c) || c.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            {
                report($"field '{at}.{contentField}' is {(c.ValueKind == JsonValueKind.Undefined ? "missing" : $"a JSON {JsonRecordReader.Kind(c)}")}; expected a string");
                return false;
            }
            var message = roleField == "role" ? (JsonObject)JsonNode.Parse(turn.GetRawText())! : new JsonObject();
            message["role"] = mapped;
            message["content"] = JsonNode.Parse(c.GetRawText());
            messages.Add(message);
        }
        return true;
    }
}
