using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>BPEDecoder</c>: the end-of-word <c>suffix</c> ("&lt;/w&gt;") becomes a space, except in the last token, where it is dropped.</summary>
internal sealed class BpeDecoder : IDecoderType
{
    public string Type => "BPEDecoder";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        string suffix = node.OptionalString("suffix") ?? "</w>";
        if (suffix.Length == 0)
        {
            throw node.Invalid("suffix", "is empty; expected the end-of-word suffix such as '</w>'");
        }

        decoder.Add(tokens => tokens.Select((token, i) => token.Replace(suffix, i == tokens.Count - 1 ? "" : " ", StringComparison.Ordinal)).ToList());
    }
}
