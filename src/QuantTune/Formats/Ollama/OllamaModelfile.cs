using System.Text;
using QuantTune.Diagnostics;

namespace QuantTune.Formats.Ollama;

/// <summary>
/// An Ollama Modelfile (https://github.com/ollama/ollama/blob/main/docs/modelfile.md):
/// <c>FROM</c> the GGUF (a path relative to the Modelfile's folder), <c>TEMPLATE</c> and <c>SYSTEM</c>
/// as triple-quoted strings, one <c>PARAMETER stop</c> per stop string.
/// </summary>
public sealed record OllamaModelfile(string From, string Template, IReadOnlyList<string> Stops, string? System, string? Comment = null)
{
    public const string FileName = "Modelfile";

    public string Render()
    {
        var text = new StringBuilder();
        if (Comment is not null)
            foreach (var line in Comment.Split('\n')) text.Append("# ").Append(line).Append('\n');
        text.Append("FROM ").Append(From).Append('\n');
        text.Append("TEMPLATE \"\"\"").Append(TripleQuoted(Template, "TEMPLATE")).Append("\"\"\"\n");
        foreach (var stop in Stops)
        {
            if (stop.Length == 0 || stop.Contains('"') || stop.Contains('\n'))
                throw new QuantTuneException($"stop string '{stop}': a Modelfile PARAMETER stop value cannot be empty or hold a quote or a newline");
            text.Append("PARAMETER stop \"").Append(stop).Append("\"\n");
        }
        if (System is not null) text.Append("SYSTEM \"\"\"").Append(TripleQuoted(System, "SYSTEM")).Append("\"\"\"\n");
        return text.ToString();
    }

    static string TripleQuoted(string value, string field) =>
        value.Contains("\"\"\"", StringComparison.Ordinal)
            ? throw new QuantTuneException($"{field}: holds \"\"\", which ends a Modelfile's triple-quoted string; the Modelfile cannot carry it")
            : value;

    /// <summary>
    /// The <c>FROM</c> line's path for a GGUF file seen from the Modelfile's folder: <c>./name.gguf</c> beside it,
    /// a relative path below or above it, as Ollama resolves FROM against the Modelfile's folder.
    /// </summary>
    public static string FromPath(string ggufPath, string modelfilePath)
    {
        var relative = Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(modelfilePath))!, Path.GetFullPath(ggufPath)).Replace('\\', '/');
        if (relative.Contains(' ') || relative.Contains('"'))
            throw new QuantTuneException($"{ggufPath}: a Modelfile FROM path cannot hold spaces or quotes; rename the file or its folder");
        return Path.IsPathRooted(relative) || relative.StartsWith("../", StringComparison.Ordinal) ? relative : "./" + relative;
    }
}
