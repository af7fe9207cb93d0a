using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Replace</c>: every match of <c>pattern</c> (a literal string or a regex) becomes <c>content</c>.</summary>
internal sealed class ReplaceNormalizer : INormalizer
{
    public string Type => "Replace";

    public Func<string, string> Create(JsonField node) => TextNormalizer.ParseReplace(node);
}
