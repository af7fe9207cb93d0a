using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace QuantTune.Cli.Serving;

/// <summary>A request body the server cannot take, naming the field (OpenAI's <c>param</c>).</summary>
public sealed class ChatRequestException(string param, string message) : Exception($"{param}: {message}")
{
    public string Param { get; } = param;
}

/// <summary>
/// An OpenAI <c>/v1/chat/completions</c> request read into Microsoft.Extensions.AI's types: <c>messages</c> (string
/// content, or a list of text parts), <c>max_tokens</c> / <c>max_completion_tokens</c>, <c>temperature</c>,
/// <c>top_p</c>, <c>stop</c>, <c>seed</c>, <c>stream</c>. Every field is checked; the body is a stranger's.
/// </summary>
public sealed record ChatRequest(IReadOnlyList<ChatMessage> Messages, ChatOptions Options, bool Stream)
{
    public static ChatRequest Parse(JsonNode? body, int maxTokensLimit)
    {
        if (body is not JsonObject o) throw new ChatRequestException("body", "expected a JSON object");
        if (o["messages"] is not JsonArray list || list.Count == 0) throw new ChatRequestException("messages", "expected a non-empty list of messages");
        var messages = list.Select((m, i) => Message(m, $"messages[{i}]")).ToList();
        var options = new ChatOptions
        {
            MaxOutputTokens = Int(o["max_completion_tokens"] ?? o["max_tokens"], "max_tokens", 1, maxTokensLimit),
            Temperature = (float?)Number(o["temperature"], "temperature", 0, 2),
            TopP = (float?)Number(o["top_p"], "top_p", double.Epsilon, 1),
            Seed = Int(o["seed"], "seed", int.MinValue, int.MaxValue),
            StopSequences = Stops(o["stop"]),
        };
        if (o["tools"] is JsonArray { Count: > 0 }) throw new ChatRequestException("tools", "tool calling is not supported by this server yet");
        bool stream = o["stream"] switch { null => false, JsonValue v when v.TryGetValue(out bool b) => b, _ => throw new ChatRequestException("stream", "expected true or false") };
        return new ChatRequest(messages, options, stream);
    }

    static ChatMessage Message(JsonNode? node, string where)
    {
        if (node is not JsonObject m) throw new ChatRequestException(where, "expected an object with role and content");
        string role = m["role"] is JsonValue r && r.TryGetValue(out string? s) ? s : throw new ChatRequestException($"{where}.role", "expected a string");
        if (role is not ("system" or "developer" or "user" or "assistant")) throw new ChatRequestException($"{where}.role", $"'{role}' is not one of system, developer, user, assistant");
        string content = m["content"] switch
        {
            JsonValue v when v.TryGetValue(out string? text) => text,
            JsonArray parts => string.Concat(parts.Select((p, i) => p is JsonObject { } part && part["type"]?.GetValue<string>() == "text" && part["text"] is JsonValue t && t.TryGetValue(out string? pt)
                ? pt : throw new ChatRequestException($"{where}.content[{i}]", "expected a text part ({\"type\": \"text\", \"text\": ...})"))),
            _ => throw new ChatRequestException($"{where}.content", "expected a string or a list of text parts"),
        };
        return new ChatMessage(role == "developer" ? ChatRole.System : new ChatRole(role), content);
    }

    static int? Int(JsonNode? node, string name, int min, int max)
    {
        if (node is null) return null;
        if (node is not JsonValue v || !v.TryGetValue(out double d) || d != Math.Floor(d) || d < min || d > max)
            throw new ChatRequestException(name, $"expected an integer from {min} to {max}");
        return (int)d;
    }

    static double? Number(JsonNode? node, string name, double min, double max)
    {
        if (node is null) return null;
        if (node is not JsonValue v || !v.TryGetValue(out double d) || double.IsNaN(d) || d < min || d > max)
            throw new ChatRequestException(name, $"expected a number from {min} to {max}");
        return d;
    }

    static List<string>? Stops(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? one) => [one],
        JsonArray a when a.Count <= 4 => a.Select((s, i) => s is JsonValue sv && sv.TryGetValue(out string? text) && text.Length > 0 ? text
            : throw new ChatRequestException($"stop[{i}]", "expected a non-empty string")).ToList(),
        _ => throw new ChatRequestException("stop", "expected a string or a list of at most 4 strings"),
    };
}
