using System.Text.Json.Nodes;

namespace QuantTune.Serving.Tools;

/// <summary>One function call a model wrote: the function's name, its arguments, and the id the model gave it (if any).</summary>
public sealed record ToolCall(string Name, JsonObject Arguments, string? Id = null);

/// <summary>A finished reply split into its plain text and the function calls it holds.</summary>
public sealed record ToolCallReply(string Text, IReadOnlyList<ToolCall> Calls);

/// <summary>
/// How one family of chat templates asks the model to write function calls, and how to read them back from the
/// reply: Hermes / Qwen's <c>&lt;tool_call&gt;{json}&lt;/tool_call&gt;</c>, Llama 3.1/3.2's bare JSON, Mistral's
/// <c>[TOOL_CALLS]</c>. A format is chosen by what the template source contains (<see cref="ToolCallFormats.For"/>).
/// </summary>
public interface IToolCallFormat
{
    /// <summary>A short name for the format ("hermes", "llama3-json", "mistral").</summary>
    string Name { get; }

    /// <summary>Whether a template with this source asks for calls in this format.</summary>
    bool Recognizes(string templateSource);

    /// <summary>Special tokens of the format that must stay in the decoded reply (decoding drops special tokens otherwise).</summary>
    IReadOnlyList<string> Markers { get; }

    /// <summary>
    /// How many leading characters of a reply still being generated are plain text for sure: the rest may be (or
    /// become) a call and is held back until the reply ends.
    /// </summary>
    int PlainTextLength(string text);

    /// <summary>The reply's text and calls; null when it holds no call or a call that is not well formed (then it is all text).</summary>
    ToolCallReply? Parse(string text);
}
