using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>UnicodeScripts</c>: pieces cut where the Unicode script changes. .NET has no script property, so the type is
/// refused by name rather than approximated.
/// </summary>
internal sealed class UnicodeScriptsPreTokenizer : IPreTokenizer
{
    public string Type => "UnicodeScripts";

    public void Add(JsonField node, PreTokenizerPipeline pipeline) =>
        throw node.Invalid("type", "is 'UnicodeScripts', which splits by Unicode script; this library has no script table and does not support it");
}
