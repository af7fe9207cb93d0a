using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary><c>CharDelimiterSplit</c>: pieces cut at each <c>delimiter</c> character, which is dropped.</summary>
internal sealed class CharDelimiterSplitPreTokenizer : IPreTokenizer
{
    public string Type => "CharDelimiterSplit";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        JsonField field = node.Required("delimiter", "a one-character string");
        string delimiter = field.GetString();
        if (!(delimiter.Length == 1 && !char.IsSurrogate(delimiter[0])) && !(delimiter.Length == 2 && char.IsSurrogatePair(delimiter, 0)))
        {
            throw field.Fail("a one-character string");
        }

        Regex pattern = CodePointRegex.Create(Regex.Escape(delimiter));
        pipeline.Add(piece => DelimiterSplit.Split(pattern, piece, SplitBehavior.Removed, invert: false));
    }
}
