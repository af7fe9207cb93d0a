namespace QuantTune.Serving.Tools;

/// <summary>
/// Llama 3.1 / 3.2's JSON calls: the whole reply is <c>{"name": ..., "parameters": {...}}</c> (several separated by
/// <c>;</c>), possibly after <c>&lt;|python_tag|&gt;</c>. Recognised by the templates' <c>"parameters": </c> prompt
/// in a Llama 3 header layout. A reply that does not begin as a call is plain text.
/// </summary>
public sealed class Llama3JsonToolCallFormat : IToolCallFormat
{
    const string PythonTag = "<|python_tag|>";

    public string Name => "llama3-json";

    public IReadOnlyList<string> Markers { get; } = [PythonTag];

    public bool Recognizes(string templateSource) =>
        templateSource.Contains("<|start_header_id|>", StringComparison.Ordinal) && templateSource.Contains("\"parameters\": ", StringComparison.Ordinal);

    public int PlainTextLength(string text)
    {
        string rest = text.TrimStart();
        bool mayBeCall = rest.Length == 0 || rest.StartsWith('{') || rest.StartsWith(PythonTag, StringComparison.Ordinal) || PythonTag.StartsWith(rest, StringComparison.Ordinal);
        return mayBeCall ? 0 : text.Length;
    }

    public ToolCallReply? Parse(string text)
    {
        string rest = text.Trim();
        if (rest.StartsWith(PythonTag, StringComparison.Ordinal)) rest = rest[PythonTag.Length..];
        if (!rest.TrimStart().StartsWith('{') || ToolCallJson.Values(rest, ';') is not { } values) return null;
        var calls = new List<ToolCall>();
        foreach (var value in values)
        {
            if (ToolCallJson.Call(value, "parameters", "arguments") is not { } call) return null;
            calls.Add(call);
        }
        return new ToolCallReply("", calls);
    }
}
