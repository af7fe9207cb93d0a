using System.Text.Json.Nodes;

namespace QuantTune.Training.Data;

/// <summary>
/// One record of a preference file as read, before rendering and tokenization. Each part is a
/// <see cref="JsonValue"/> string (TRL's standard format) or a <see cref="JsonArray"/> of messages (the
/// conversational format). Paired: <see cref="Chosen"/> and <see cref="Rejected"/>; unpaired (KTO):
/// <see cref="Chosen"/> is the completion and <see cref="Desirable"/> its label. The prompt is explicit or,
/// for pairs without one, the shared prefix of chosen and rejected (TRL's <c>extract_prompt</c>).
/// </summary>
internal sealed record PreferenceRecord(JsonNode Prompt, JsonNode Chosen, JsonNode? Rejected, bool? Desirable, int Line)
{
    public bool Conversational => Chosen is JsonArray;
}
