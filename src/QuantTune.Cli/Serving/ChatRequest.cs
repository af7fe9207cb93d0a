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
/// <c>top_p</c>, <c>stop</c>, <c>seed</c>, <c>stream</c>, <c>tools</c> (function declarations) and <c>tool_choice</c>
/// ("auto" or "none"); assistant messages with <c>tool_calls</c> and <c>tool</c> messages with their
/// <c>tool_call_id</c>. Every field is checked; the body is a stranger's.
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
        options.Tools = Tools(o["tools"]);
        switch (o["tool_choice"])
        {
            case null:
                break;
            case JsonValue v when v.TryGetValue(out string? choice) && choice is "auto" or "none":
                if (choice == "none") options.Tools = null;
                break;
            default:
                throw new ChatRequestException("tool_choice", "expected \"auto\" or \"none\" (the server cannot force a call)");
        }
        if (o["parallel_tool_calls"] is { } parallel && !(parallel is JsonValue pv && pv.TryGetValue(out bool _)))
            throw new ChatRequestException("parallel_tool_calls", "expected true or false");
        bool stream = o["stream"] switch { null => false, JsonValue v when v.TryGetValue(out bool b) => b, _ => throw new ChatRequestException("stream", "expected true or false") };
        return new ChatRequest(messages, options, stream);
    }

    static ChatMessage Message(JsonNode? node, string where)
    {
        if (node is not JsonObject m) throw new ChatRequestException(where, "expected an object with role and content");
        string role = m["role"] is JsonValue r && r.TryGetValue(out string? s) ? s : throw new ChatRequestException($"{where}.role", "expected a string");
        if (role is not ("system" or "developer" or "user" or "assistant" or "tool")) throw new ChatRequestException($"{where}.role", $"'{role}' is not one of system, developer, user, assistant, tool");
        if (role == "assistant" && m["tool_calls"] is { } calls) return AssistantCalls(m, calls, where);
        string content = Content(m["content"], where);
        if (role == "tool")
        {
            string id = m["tool_call_id"] is JsonValue idValue && idValue.TryGetValue(out string? callId) && callId.Length > 0 ? callId
                : throw new ChatRequestException($"{where}.tool_call_id", "expected the id of the call this message answers");
            return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(id, content)]);
        }
        return new ChatMessage(role == "developer" ? ChatRole.System : new ChatRole(role), content);
    }

    static string Content(JsonNode? node, string where) =>
        node switch
        {
            JsonValue v when v.TryGetValue(out string? text) => text,
            JsonArray parts => string.Concat(parts.Select((p, i) => p is JsonObject { } part && part["type"]?.GetValue<string>() == "text" && part["text"] is JsonValue t && t.TryGetValue(out string? pt)
                ? pt : throw new ChatRequestException($"{where}.content[{i}]", "expected a text part ({\"type\": \"text\", \"text\": ...})"))),
            _ => throw new ChatRequestException($"{where}.content", "expected a string or a list of text parts"),
        };

    /// <summary>An assistant turn that called functions: its text (content may be null) and each call.</summary>
    static ChatMessage AssistantCalls(JsonObject m, JsonNode calls, string where)
    {
        if (calls is not JsonArray list || list.Count == 0) throw new ChatRequestException($"{where}.tool_calls", "expected a non-empty list of calls");
        var contents = new List<AIContent>();
        if (m["content"] is not null) contents.Add(new TextContent(Content(m["content"], where)));
        for (int i = 0; i < list.Count; i++)
        {
            string at = $"{where}.tool_calls[{i}]";
            if (list[i] is not JsonObject call) throw new ChatRequestException(at, "expected {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}");
            string id = call["id"] is JsonValue iv && iv.TryGetValue(out string? s) && s.Length > 0 ? s : throw new ChatRequestException($"{at}.id", "expected a non-empty string");
            if (call["type"] is { } type && !(type is JsonValue tv && tv.TryGetValue(out string? t) && t == "function"))
                throw new ChatRequestException($"{at}.type", "expected \"function\"");
            if (call["function"] is not JsonObject function) throw new ChatRequestException($"{at}.function", "expected {\"name\", \"arguments\"}");
            string name = function["name"] is JsonValue nv && nv.TryGetValue(out string? n) && n.Length > 0 ? n : throw new ChatRequestException($"{at}.function.name", "expected a non-empty string");
            JsonObject arguments = function["arguments"] switch
            {
                null => new JsonObject(),
                JsonValue av when av.TryGetValue(out string? text) => ParseObject(text) ?? throw new ChatRequestException($"{at}.function.arguments", "expected a string holding a JSON object"),
                _ => throw new ChatRequestException($"{at}.function.arguments", "expected a string holding a JSON object"),
            };
            contents.Add(new FunctionCallContent(id, name, arguments.ToDictionary(a => a.Key, a => (object?)(a.Value is null ? null : JsonSerializer.SerializeToElement(a.Value)))));
        }
        return new ChatMessage(ChatRole.Assistant, contents);
    }

    static JsonObject? ParseObject(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>OpenAI's <c>tools</c>: <c>{"type": "function", "function": {"name", "description", "parameters"}}</c> each, as function declarations.</summary>
    static List<AITool>? Tools(JsonNode? node)
    {
        if (node is null) return null;
        if (node is not JsonArray list) throw new ChatRequestException("tools", "expected a list of {\"type\": \"function\", \"function\": {...}}");
        var tools = new List<AITool>();
        for (int i = 0; i < list.Count; i++)
        {
            string at = $"tools[{i}]";
            if (list[i] is not JsonObject tool) throw new ChatRequestException(at, "expected {\"type\": \"function\", \"function\": {...}}");
            if (!(tool["type"] is JsonValue tv && tv.TryGetValue(out string? type) && type == "function")) throw new ChatRequestException($"{at}.type", "expected \"function\"");
            if (tool["function"] is not JsonObject function) throw new ChatRequestException($"{at}.function", "expected {\"name\", \"description\", \"parameters\"}");
            string name = function["name"] is JsonValue nv && nv.TryGetValue(out string? n) && n.Length > 0 ? n : throw new ChatRequestException($"{at}.function.name", "expected a non-empty string");
            string? description = function["description"] switch
            {
                null => null,
                JsonValue dv when dv.TryGetValue(out string? d) => d,
                _ => throw new ChatRequestException($"{at}.function.description", "expected a string"),
            };
            JsonNode parameters = function["parameters"] switch
            {
                null => new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
                JsonObject p => p,
                _ => throw new ChatRequestException($"{at}.function.parameters", "expected a JSON schema object"),
            };
            tools.Add(AIFunctionFactory.CreateDeclaration(name, description, JsonSerializer.SerializeToElement(parameters)));
        }
        return tools.Count > 0 ? tools : null;
    }

    internal static int? Int(JsonNode? node, string name, int min, int max)
    {
        if (node is null) return null;
        if (node is not JsonValue v || !v.TryGetValue(out double d) || d != Math.Floor(d) || d < min || d > max)
            throw new ChatRequestException(name, $"expected an integer from {min} to {max}");
        return (int)d;
    }

    internal static double? Number(JsonNode? node, string name, double min, double max)
    {
        if (node is null) return null;
        if (node is not JsonValue v || !v.TryGetValue(out double d) || double.IsNaN(d) || d < min || d > max)
            throw new ChatRequestException(name, $"expected a number from {min} to {max}");
        return d;
    }

    internal static List<string>? Stops(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? one) => [one],
        JsonArray a when a.Count <= 4 => a.Select((s, i) => s is JsonValue sv && sv.TryGetValue(out string? text) && text.Length > 0 ? text
            : throw new ChatRequestException($"stop[{i}]", "expected a non-empty string")).ToList(),
        _ => throw new ChatRequestException("stop", "expected a string or a list of at most 4 strings"),
    };
}
