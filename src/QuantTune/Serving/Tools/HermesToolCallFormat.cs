namespace QuantTune.Serving.Tools;

/// <summary>
/// Hermes-style calls, as Qwen 2.5, Qwen 3, SmolLM3 and Hermes templates ask for them: each call a JSON object
/// <c>{"name": ..., "arguments": {...}}</c> between <c>&lt;tool_call&gt;</c> and <c>&lt;/tool_call&gt;</c>; text
/// around the calls is the reply's text.
/// </summary>
public sealed class HermesToolCallFormat : IToolCallFormat
{
    const string Open = "<tool_call>", Close = "</tool_call>";

    public string Name => "hermes";

    public IReadOnlyList<string> Markers { get; } = [Open, Close];

    public bool Recognizes(string templateSource) => templateSource.Contains(Open, StringComparison.Ordinal);

    public int PlainTextLength(string text)
    {
        int at = text.IndexOf(Open, StringComparison.Ordinal);
        return at >= 0 ? at : text.Length - ToolCallJson.PartialMarker(text, Open);
    }

    public ToolCallReply? Parse(string text)
    {
        var calls = new List<ToolCall>();
        var plain = new System.Text.StringBuilder();
        int at = 0;
        while (text.IndexOf(Open, at, StringComparison.Ordinal) is int start && start >= 0)
        {
            plain.Append(text, at, start - at);
            int body = start + Open.Length;
            int end = text.IndexOf(Close, body, StringComparison.Ordinal);
            // The model may stop at its end of turn right after the JSON, before the closing tag.
            string json = end >= 0 ? text[body..end] : text[body..];
            if (ToolCallJson.Values(json) is not [var node] || ToolCallJson.Call(node, "arguments", "parameters") is not { } call) return null;
            calls.Add(call);
            at = end >= 0 ? end + Close.Length : text.Length;
        }
        if (calls.Count == 0) return null;
        plain.Append(text, at, text.Length - at);
        return new ToolCallReply(plain.ToString().Trim(), calls);
    }
}
