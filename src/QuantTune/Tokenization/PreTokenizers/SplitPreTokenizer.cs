using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary><c>Split</c>: pieces cut around the matches of <c>pattern</c> (a string or a regex), every behaviour, with or without <c>invert</c>.</summary>
internal sealed class SplitPreTokenizer : IPreTokenizer
{
    public string Type => "Split";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        JsonField pattern = node.Required("pattern", "{\"String\": ...} or {\"Regex\": ...}");
        string regex = pattern.OptionalString("Regex")
            ?? (pattern.OptionalString("String") is { } literal ? Regex.Escape(literal) : throw pattern.Fail("{\"String\": ...} or {\"Regex\": ...}"));
        SplitBehavior behavior = DelimiterSplit.ParseBehavior(node.Required("behavior", "a split behaviour such as 'Isolated'"));
        bool invert = node.OptionalBool("invert") ?? false;
        Regex compiled = PreTokenizerPipeline.Compile(pattern, regex);
        pipeline.Add(piece => DelimiterSplit.Split(compiled, piece, behavior, invert));
    }
}
