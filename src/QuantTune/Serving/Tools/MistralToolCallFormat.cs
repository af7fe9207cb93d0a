using System.Text.Json.Nodes;

namespace QuantTune.Serving.Tools;

/// <summary>
/// Mistral's calls after <c>[TOOL_CALLS]</c>: a JSON list <c>[{"name": ..., "arguments": {...}, "id": ...}]</c>
/// (v3 tokenizers), or <c>name[ARGS]{...}</c> per call (v11 and later). Text before the marker is the reply's text.
/// </summary>
public sealed class MistralToolCallFormat : IToolCallFormat
{
    const string Marker = "[TOOL_CALLS]", Args = "[ARGS]";

    public string Name => "mistral";

    public IReadOnlyList<string> Markers { get; } = [Marker, Args];

    public bool Recognizes(string templateSource) => templateSource.Contains(Marker, StringComparison.Ordinal);

    public int PlainTextLength(string text)
    {
        int at = text.IndexOf(Marker, StringComparison.Ordinal);
        return at >= 0 ? at : text.Length - ToolCallJson.PartialMarker(text, Marker);
    }

    public ToolCallReply? Parse(string text)
    {
        int at = text.IndexOf(Marker, StringComparison.Ordinal);
        if (at < 0) return null;
        string plain = text[..at].Trim();
        var calls = new List<ToolCall>();
        foreach (string part in text[(at + Marker.Length)..].Split(Marker))
        {
            string body = part.Trim();
            if (body.StartsWith('['))
            {
                if (ToolCallJson.Values(body) is not [JsonArray list] || list.Count == 0) return null;
                foreach (var item in list)
                {
                    if (ToolCallJson.Call(item, "arguments", "parameters") is not { } call) return null;
                    calls.Add(call);
                }
                continue;
            }
            int args = body.IndexOf(Args, StringComparison.Ordinal);
            if (args <= 0 || ToolCallJson.Values(body[(args + Args.Length)..]) is not [JsonObject arguments]) return null;
            calls.Add(new ToolCall(body[..args].Trim(), arguments));
        }
        return calls.Count > 0 ? new ToolCallReply(plain, calls) : null;
    }
}
