using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>WordPiece</c>: each word split greedily into the longest tokens of <c>vocab</c> from the left, every piece
/// after the first spelled with <c>continuing_subword_prefix</c> ("##"); a word that cannot be split so, or
/// longer than <c>max_input_chars_per_word</c> characters (default 100), is <c>unk_token</c> ("[UNK]").
/// </summary>
internal sealed class WordPieceModelType : IModelType
{
    public string Type => "WordPiece";

    public ITokenModel Create(JsonField node, bool byteLevel)
    {
        Dictionary<string, int> vocab = TokenModels.ReadVocabulary(node.Required("vocab", "an object mapping token text to id"));
        string unkToken = node.OptionalString("unk_token") ?? "[UNK]";
        string prefix = node.OptionalString("continuing_subword_prefix") ?? "##";
        int maxChars = 100;
        if (node.Optional("max_input_chars_per_word") is { } max)
        {
            maxChars = max.GetInt32();
            if (maxChars < 0)
            {
                throw max.Fail("a non-negative number of characters");
            }
        }

        return new WordPieceModel(vocab, vocab.TryGetValue(unkToken, out int unk) ? unk : null, prefix, maxChars, node.File, unkToken);
    }
}

/// <summary>A WordPiece vocabulary (see <see cref="WordPieceModelType"/>).</summary>
internal sealed class WordPieceModel(Dictionary<string, int> vocab, int? unknownId, string prefix, int maxChars, string file, string unkToken) : ITokenModel
{
    private readonly int _longestToken = vocab.Keys.Select(k => k.Length).DefaultIfEmpty(0).Max();

    public IReadOnlyDictionary<string, int> Vocabulary => vocab;

    public int? UnknownId => unknownId;

    public void Encode(string word, List<int> ids)
    {
        if (CodePoints(word) > maxChars)
        {
            ids.Add(Unknown());
            return;
        }

        var pieces = new List<int>();
        int start = 0;
        while (start < word.Length)
        {
            // No piece is longer than the longest token: the search starts there, not at the end of a long word.
            int end = (int)Math.Min(word.Length, (long)start + _longestToken);
            if (end < word.Length && end > start && char.IsLowSurrogate(word[end]))
            {
                end--;
            }

            int? found = null;
            while (start < end)
            {
                string piece = start > 0 ? prefix + word[start..end] : word[start..end];
                if (vocab.TryGetValue(piece, out int id))
                {
                    found = id;
                    break;
                }

                end -= end >= 2 && char.IsSurrogatePair(word[end - 2], word[end - 1]) ? 2 : 1;
            }

            if (found is not int token)
            {
                ids.Add(Unknown());
                return;
            }

            pieces.Add(token);
            start = end;
        }

        ids.AddRange(pieces);
    }

    private int Unknown() => TokenModels.RequireUnknown(unknownId, file, "model.unk_token", unkToken);

    private static int CodePoints(string s)
    {
        int count = 0;
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
        {
            count++;
        }

        return count;
    }
}
