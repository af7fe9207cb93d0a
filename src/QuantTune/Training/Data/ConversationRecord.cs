using System.Text.Json.Nodes;

namespace QuantTune.Training.Data;

/// <summary>One conversation of a chat data file: its messages (role, content) and the line it starts on.</summary>
public sealed record ConversationRecord(JsonArray Messages, int Line);
