using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Metaspace</c>: <c>replacement</c> (▁) back to spaces, the first token's leading space dropped unless <c>prepend_scheme</c> is "never".</summary>
internal sealed class MetaspaceDecoder : IDecoderType
{
    public string Type => "Metaspace";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        string replacement = node.Required("replacement", "a one-character string such as '▁'").GetString();
        if (replacement.Length == 0)
        {
            throw node.Invalid("replacement", "is empty; expected a one-character string such as '▁'");
        }

        bool stripFirst = node.OptionalString("prepend_scheme") is { } scheme ? scheme != "never" : node.OptionalBool("add_prefix_space") ?? true;
        decoder.Add(tokens => tokens.Select((t, i) =>
        {
            string s = t.Replace(replacement, " ", StringComparison.Ordinal);
            return i == 0 && stripFirst && s.StartsWith(' ') ? s[1..] : s;
        }).ToList());
    }
}
