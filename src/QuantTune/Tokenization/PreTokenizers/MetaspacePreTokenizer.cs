using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>Metaspace</c>: spaces become <c>replacement</c> (▁), which is prepended to every piece (<c>prepend_scheme</c>
/// "always"), to a piece that begins the text ("first") or never; with <c>split</c> every ▁ starts a new piece.
/// The older <c>add_prefix_space</c> stands for "always" (true) or "never" (false).
/// </summary>
internal sealed class MetaspacePreTokenizer : IPreTokenizer
{
    public string Type => "Metaspace";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        JsonField replacementField = node.Required("replacement", "a one-character string such as '▁'");
        string replacement = replacementField.GetString();
        if (replacement.Length != 1)
        {
            throw replacementField.Fail("a one-character string such as '▁'");
        }

        string scheme = node.Optional("prepend_scheme") is { } schemeField
            ? schemeField.GetString() is "first" or "always" or "never" ? schemeField.GetString() : throw schemeField.Fail("'first', 'always' or 'never'")
            : (node.OptionalBool("add_prefix_space") ?? true) ? "always" : "never";
        bool split = node.OptionalBool("split") ?? true;
        char mark = replacement[0];

        pipeline.Add(piece =>
        {
            string s = piece.Text.Replace(' ', mark);
            if ((scheme == "always" || (scheme == "first" && piece.AtTextStart)) && !s.StartsWith(mark))
            {
                s = replacement + s;
            }

            return (split ? SplitBefore(s, mark) : [s]).Select((p, i) => new Piece(p, piece.AtTextStart && i == 0));
        });
    }

    /// <summary>Splits so that every <paramref name="mark"/> starts a new piece ("MergedWithNext").</summary>
    private static List<string> SplitBefore(string s, char mark)
    {
        var parts = new List<string>();
        int start = 0;
        for (int i = 1; i < s.Length; i++)
        {
            if (s[i] == mark)
            {
                parts.Add(s[start..i]);
                start = i;
            }
        }

        if (start < s.Length)
        {
            parts.Add(s[start..]);
        }

        return parts;
    }
}
