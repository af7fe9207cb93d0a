using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace QuantTune.Serving;

/// <summary>
/// A Microsoft.Extensions.AI conversation in the shape transformers' <c>apply_chat_template</c> gives a chat
/// template: <c>{"role", "content"}</c> messages; an assistant's <see cref="FunctionCallContent"/> as
/// <c>tool_calls: [{"type": "function", "id", "function": {"name", "arguments": {...}}}]</c>; each
/// <see cref="FunctionResultContent"/> as its own <c>{"role": "tool", "content", "tool_call_id", "name"}</c>
/// message; and the tools (<see cref="AIFunctionDeclaration"/>) as
/// <c>{"type": "function", "function": {"name", "description", "parameters"}}</c>.
/// </summary>
public static class ChatTranscript
{
    /// <summary>The messages as the template's <c>messages</c> variable.</summary>
    public static JsonArray Messages(IEnumerable<AiChatMessage> messages)
    {
        var list = new JsonArray();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            string role = Role(message.Role);
            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            if (results.Count > 0)
            {
                foreach (var result in results)
                {
                    var tool = new JsonObject { ["role"] = "tool", ["content"] = ResultText(result.Result), ["tool_call_id"] = result.CallId };
                    if (names.TryGetValue(result.CallId, out string? name)) tool["name"] = name;
                    list.Add(tool);
                }
                continue;
            }
            var turn = new JsonObject { ["role"] = role, ["content"] = message.Text };
            if (calls.Count > 0)
            {
                turn["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
                {
                    ["type"] = "function",
                    ["id"] = c.CallId,
                    ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = Arguments(c.Arguments) },
                })]);
                foreach (var c in calls) names[c.CallId] = c.Name;
            }
            list.Add(turn);
        }
        return list;
    }

    /// <summary>The function declarations among <paramref name="tools"/> as the template's <c>tools</c> variable; null when there are none.</summary>
    public static JsonArray? Tools(IEnumerable<AITool>? tools)
    {
        var functions = tools?.OfType<AIFunctionDeclaration>().ToList() ?? [];
        if (functions.Count == 0) return null;
        return new JsonArray([.. functions.Select(f =>
        {
            var function = new JsonObject { ["name"] = f.Name };
            if (!string.IsNullOrEmpty(f.Description)) function["description"] = f.Description;
            function["parameters"] = JsonNode.Parse(f.JsonSchema.GetRawText());
            return (JsonNode)new JsonObject { ["type"] = "function", ["function"] = function };
        })]);
    }

    /// <summary>Arguments as a JSON object (templates write them with <c>tojson</c>).</summary>
    public static JsonObject Arguments(IDictionary<string, object?>? arguments) =>
        arguments is null ? new JsonObject() : JsonSerializer.SerializeToNode(arguments, AIJsonUtilities.DefaultOptions) as JsonObject ?? new JsonObject();

    /// <summary>
    /// A function's result as the tool message's text: a string as it is, anything else (a function's JSON result
    /// included) serialized as Microsoft.Extensions.AI's OpenAI client sends it, so that a conversation gives the
    /// same prompt here and through <c>quanttune serve</c>.
    /// </summary>
    public static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };

    private static string Role(ChatRole role) =>
        role == ChatRole.System ? "system" : role == ChatRole.User ? "user" : role == ChatRole.Assistant ? "assistant" : role == ChatRole.Tool ? "tool" : role.Value;
}
