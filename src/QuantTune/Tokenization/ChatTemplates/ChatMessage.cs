using System.Text.Json.Nodes;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>One turn of a conversation: a role (system, user, assistant, tool) and its text.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public JsonObject ToJson() => new() { ["role"] = Role, ["content"] = Content };

    public static JsonArray ToJson(IEnumerable<ChatMessage> messages) => new(messages.Select(m => (JsonNode)m.ToJson()).ToArray());
}
