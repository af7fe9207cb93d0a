namespace QuantTune.Serving.Tools;

/// <summary>The tool-call formats QuantTune reads, each recognised by its template's source; register a new one here.</summary>
public static class ToolCallFormats
{
    /// <summary>Every known format, tried in order.</summary>
    public static IReadOnlyList<IToolCallFormat> All { get; } =
    [
        new HermesToolCallFormat(),
        new MistralToolCallFormat(),
        new Llama3JsonToolCallFormat(),
    ];

    /// <summary>The format a template with <paramref name="templateSource"/> asks for; null when it defines none.</summary>
    public static IToolCallFormat? For(string templateSource) => All.FirstOrDefault(f => f.Recognizes(templateSource));
}
