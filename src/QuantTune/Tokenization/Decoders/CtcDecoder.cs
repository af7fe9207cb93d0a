using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>CTC</c>: repeated tokens collapsed to one, <c>pad_token</c> removed from each, <c>word_delimiter_token</c> turned into
/// a space, and with <c>cleanup</c> (default true) the WordPiece cleanup applied.
/// </summary>
internal sealed class CtcDecoder : IDecoderType
{
    public string Type => "CTC";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        string pad = node.OptionalString("pad_token") ?? "<pad>";
        string delimiter = node.OptionalString("word_delimiter_token") ?? "|";
        bool cleanup = node.OptionalBool("cleanup") ?? true;
        decoder.Add(tokens =>
        {
            var result = new List<string>(tokens.Count);
            for (int i = 0; i < tokens.Count; i++)
            {
                if (i > 0 && tokens[i] == tokens[i - 1])
                {
                    continue;
                }

                string token = pad.Length > 0 ? tokens[i].Replace(pad, "", StringComparison.Ordinal) : tokens[i];
                if (cleanup)
                {
                    token = WordPieceDecoder.Cleanup(token);
                    if (delimiter.Length > 0)
                    {
                        token = token.Replace(delimiter, " ", StringComparison.Ordinal);
                    }
                }

                if (token.Length > 0)
                {
                    result.Add(token);
                }
            }

            return result;
        });
    }
}
