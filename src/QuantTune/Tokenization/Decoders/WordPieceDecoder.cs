using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>WordPiece</c>: a token after the first loses its <c>prefix</c> ("##") or gets a space before it; with
/// <c>cleanup</c> (default true) the spaces BERT puts before punctuation and English contractions are removed.
/// </summary>
internal sealed class WordPieceDecoder : IDecoderType
{
    public string Type => "WordPiece";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        string prefix = node.OptionalString("prefix") ?? "##";
        bool cleanup = node.OptionalBool("cleanup") ?? true;
        decoder.Add(tokens => tokens.Select((token, i) =>
        {
            if (i != 0)
            {
                token = prefix.Length > 0 && token.StartsWith(prefix, StringComparison.Ordinal) ? token[prefix.Length..] : " " + token;
            }

            return cleanup ? Cleanup(token) : token;
        }).ToList());
    }

    /// <summary>tokenizers' <c>cleanup</c>: " ." to ".", " n't" to "n't", " do not" to " don't", and the like.</summary>
    internal static string Cleanup(string s) => s
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" do not", " don't", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);
}
