using QuantTune.IO;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>Unigram</c> (SentencePiece's unigram language model): <c>vocab</c> is a list of [piece, log-probability];
/// a word becomes the split whose pieces' scores sum highest (Viterbi over every vocabulary piece at every
/// position, ties to the first found, shorter first). A character no piece starts with is <c>unk_id</c> at the
/// lowest score less 10, consecutive unknowns fused into one; with <c>byte_fallback</c> an unknown run is spelled
/// by its UTF-8 bytes (&lt;0xAB&gt; tokens) when all of them exist.
/// </summary>
internal sealed class UnigramModelType : IModelType
{
    public string Type => "Unigram";

    public ITokenModel Create(JsonField node, bool byteLevel)
    {
        var pieces = new List<(string Piece, double Score)>();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonField entry in node.Required("vocab", "a list of [piece, score] pairs").Items())
        {
            JsonField[] pair = entry.Items().ToArray();
            if (pair.Length != 2)
            {
                throw entry.Fail("a [piece, score] pair");
            }

            string piece = pair[0].GetString();
            double score = pair[1].GetDouble();
            if (!double.IsFinite(score))
            {
                throw pair[1].Fail("a finite score");
            }

            // tokenizers keeps the last id of a piece listed twice.
            vocab[piece] = pieces.Count;
            pieces.Add((piece, score));
        }

        if (pieces.Count == 0)
        {
            throw node.Invalid("vocab", "is empty; expected at least one piece");
        }

        int? unknownId = null;
        if (node.Optional("unk_id") is { } unk)
        {
            unknownId = unk.GetInt32();
            if (unknownId < 0 || unknownId >= pieces.Count)
            {
                throw unk.Fail($"the index of a piece of model.vocab (0 to {pieces.Count - 1})");
            }
        }

        return new UnigramModel(pieces, vocab, unknownId, node.OptionalBool("byte_fallback") ?? false, node.File);
    }
}

/// <summary>A unigram vocabulary (see <see cref="UnigramModelType"/>).</summary>
internal sealed class UnigramModel : ITokenModel
{
    /// <summary>SentencePiece's penalty of an unknown character below the lowest piece score.</summary>
    private const double UnknownPenalty = 10.0;

    private readonly List<(string Piece, double Score)> _pieces;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly int? _unknownId;
    private readonly bool _byteFallback;
    private readonly string _file;
    private readonly double _unknownScore;
    private readonly int _longestPiece;

    public UnigramModel(List<(string Piece, double Score)> pieces, Dictionary<string, int> vocab, int? unknownId, bool byteFallback, string file)
    {
        _pieces = pieces;
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _unknownId = unknownId;
        _byteFallback = byteFallback;
        _file = file;
        _unknownScore = pieces.Min(p => p.Score) - UnknownPenalty;
        _longestPiece = pieces.Max(p => p.Piece.Length);
    }

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public int? UnknownId => _unknownId;

    public void Encode(string word, List<int> ids)
    {
        if (word.Length == 0)
        {
            return;
        }

        // best[end]: the best split of word[..end], as (score, start of its last piece, that piece's id).
        var score = new double[word.Length + 1];
        var start = new int[word.Length + 1];
        var id = new int[word.Length + 1];
        Array.Fill(start, -1);
        start[0] = 0;
        for (int from = 0; from < word.Length;)
        {
            int charLength = char.IsSurrogatePair(word, from) ? 2 : 1;
            bool singleCharacter = false;
            int limit = Math.Min(word.Length, from + _longestPiece);
            for (int to = from + charLength; to <= limit; to += to < word.Length && char.IsSurrogatePair(word, to) ? 2 : 1)
            {
                if (_vocabBySpan.TryGetValue(word.AsSpan(from, to - from), out int piece))
                {
                    Offer(to, score[from] + _pieces[piece].Score, from, piece);
                    singleCharacter |= to - from == charLength;
                }

                if (to == word.Length)
                {
                    break;
                }
            }

            if (!singleCharacter)
            {
                Offer(from + charLength, score[from] + _unknownScore, from, _unknownId ?? throw NoUnknown());
            }

            from += charLength;
        }

        var reversed = new List<string>();
        var unknownRun = new List<string>();
        for (int end = word.Length; end > 0; end = start[end])
        {
            string text = word[start[end]..end];
            if (id[end] == _unknownId)
            {
                unknownRun.Add(text);
                continue;
            }

            FlushUnknown();
            reversed.Add(_pieces[id[end]].Piece);
        }

        FlushUnknown();
        for (int i = reversed.Count - 1; i >= 0; i--)
        {
            AppendPiece(reversed[i], ids);
        }

        void Offer(int end, double candidate, int from, int piece)
        {
            if (start[end] < 0 || candidate > score[end])
            {
                score[end] = candidate;
                start[end] = from;
                id[end] = piece;
            }
        }

        void FlushUnknown()
        {
            if (unknownRun.Count > 0)
            {
                unknownRun.Reverse();
                reversed.Add(string.Concat(unknownRun));
                unknownRun.Clear();
            }
        }
    }

    private TokenizerFormatException NoUnknown() =>
        new(_file, "model.unk_id", "is null; the text holds a character that no piece of model.vocab spells, and the model has no unknown piece for it", null);

    /// <summary>A piece of the best split: its id, its bytes (byte fallback), or the unknown id.</summary>
    private void AppendPiece(string piece, List<int> ids)
    {
        if (_vocab.TryGetValue(piece, out int id))
        {
            ids.Add(id);
            return;
        }

        if (_byteFallback)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(piece);
            var byteIds = new List<int>(bytes.Length);
            foreach (byte b in bytes)
            {
                if (!_vocab.TryGetValue($"<0x{b:X2}>", out int byteId))
                {
                    break;
                }

                byteIds.Add(byteId);
            }

            if (byteIds.Count == bytes.Length)
            {
                ids.AddRange(byteIds);
                return;
            }
        }

        ids.Add(_unknownId ?? throw NoUnknown());
    }
}
