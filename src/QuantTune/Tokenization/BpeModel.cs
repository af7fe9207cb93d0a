using QuantTune.IO;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace QuantTune.Tokenization;

/// <summary>
/// The <c>model</c> section of tokenizer.json (type BPE), encoding one pre-tokenized word at a time.
/// Merging and the per-word cache are Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (byte-level
/// handled by it too); <c>byte_fallback</c>, <c>ignore_merges</c> and unknown characters are handled here,
/// since <see cref="BpeOptions"/> cannot express them.
/// </summary>
internal sealed class BpeModel : ITokenModel
{

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly bool _byteLevel;
    private readonly bool _ignoreMerges;
    private readonly bool _fuseUnknown;
    private readonly int? _unknownId;
    private readonly int[]? _byteFallbackIds;

    private BpeModel(BpeTokenizer bpe, Dictionary<string, int> vocab, bool byteLevel, bool ignoreMerges, bool fuseUnknown, int? unknownId, int[]? byteFallbackIds)
    {
        _bpe = bpe;
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _byteLevel = byteLevel;
        _ignoreMerges = ignoreMerges;
        _fuseUnknown = fuseUnknown;
        _unknownId = unknownId;
        _byteFallbackIds = byteFallbackIds;
    }

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public int? UnknownId => _unknownId;

    public static BpeModel Parse(JsonField model, bool byteLevel)
    {
        if (model.Optional("dropout") is { } dropout && !(dropout.Element.ValueKind == System.Text.Json.JsonValueKind.Number && dropout.Element.GetDouble() == 0))
        {
            throw dropout.Fail("null (BPE dropout is not supported)");
        }

        Dictionary<string, int> vocab = TokenModels.ReadVocabulary(model.Required("vocab", "an object mapping token text to id"));

        List<string> merges = ReadMerges(model.Required("merges", "a list of merges (\"a b\" strings or [\"a\", \"b\"] pairs)"));
        string? unkToken = model.OptionalString("unk_token");
        int? unknownId = unkToken is not null && vocab.TryGetValue(unkToken, out int unk) ? unk : null;
        int[]? byteFallbackIds = (model.OptionalBool("byte_fallback") ?? false) ? ByteFallbackIds(vocab) : null;

        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = byteLevel,
            ContinuingSubwordPrefix = model.OptionalString("continuing_subword_prefix"),
            EndOfWordSuffix = model.OptionalString("end_of_word_suffix"),
        };

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(options);
        }
        catch (InvalidOperationException e)
        {
            throw new TokenizerFormatException(model.File, "model.merges", $"is inconsistent with 'model.vocab': {e.Message}", e);
        }

        return new BpeModel(bpe, vocab, byteLevel, model.OptionalBool("ignore_merges") ?? false, model.OptionalBool("fuse_unk") ?? false, unknownId, byteFallbackIds);
    }

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Encode(string word, List<int> ids)
    {
        if (_ignoreMerges && _vocab.TryGetValue(_byteLevel ? ByteLevelAlphabet.Encode(word) : word, out int whole))
        {
            ids.Add(whole);
            return;
        }

        if (_byteLevel)
        {
            ids.AddRange(_bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
            return;
        }

        // Characters missing from the vocabulary become byte tokens (or <unk>). They never take part in a merge,
        // so the runs of known characters between them are encoded separately.
        int runStart = 0;
        bool lastWasUnknown = false;
        for (int i = 0; i < word.Length;)
        {
            int length = char.IsSurrogatePair(word, i) ? 2 : 1;
            ReadOnlySpan<char> character = word.AsSpan(i, length);
            if (!_vocabBySpan.ContainsKey(character))
            {
                if (i > runStart)
                {
                    ids.AddRange(_bpe.EncodeToIds(word.AsSpan(runStart, i - runStart), considerPreTokenization: false, considerNormalization: false));
                    lastWasUnknown = false;
                }

                lastWasUnknown = AppendUnknown(character, ids, lastWasUnknown);
                runStart = i + length;
            }

            i += length;
        }

        if (runStart < word.Length)
        {
            ids.AddRange(_bpe.EncodeToIds(word.AsSpan(runStart), considerPreTokenization: false, considerNormalization: false));
        }
    }

    private bool AppendUnknown(ReadOnlySpan<char> character, List<int> ids, bool lastWasUnknown)
    {
        if (_byteFallbackIds is not null)
        {
            Span<byte> utf8 = stackalloc byte[8];
            int count = Encoding.UTF8.GetBytes(character, utf8);
            foreach (byte b in utf8[..count])
            {
                ids.Add(_byteFallbackIds[b]);
            }

            return false;
        }

        if (_unknownId is int unk && !(_fuseUnknown && lastWasUnknown))
        {
            ids.Add(unk);
        }

        return _unknownId is not null;
    }

    /// <summary>Ids of the tokens &lt;0x00&gt;..&lt;0xFF&gt;, or null when any is missing (then unknown characters map to unk_token).</summary>
    private static int[]? ByteFallbackIds(Dictionary<string, int> vocab)
    {
        var ids = new int[256];
        for (int b = 0; b < 256; b++)
        {
            if (!vocab.TryGetValue($"<0x{b:X2}>", out ids[b]))
            {
                return null;
            }
        }

        return ids;
    }

    private static List<string> ReadMerges(JsonField merges)
    {
        var result = new List<string>();
        foreach (JsonField merge in merges.Items())
        {
            string[] pair = merge.Element.ValueKind == System.Text.Json.JsonValueKind.Array
                ? merge.Items().Select(p => p.GetString()).ToArray()
                : merge.GetString().Split(' ');
            if (pair.Length != 2 || pair.Any(p => p.Length == 0 || p.Contains(' ')))
            {
                throw merge.Fail("a pair of non-empty tokens without spaces, as \"a b\" or [\"a\", \"b\"]");
            }

            result.Add($"{pair[0]} {pair[1]}");
        }

        return WithoutRepeats(result);
    }

    /// <summary>
    /// A pair listed twice keeps its last rank, as Hugging Face tokenizers' merge map does (each
    /// entry overwrites the one before; tools/tokenizer-references/duplicate-merges.mjs). Dropping
    /// the earlier entries leaves the order of the rest, which is all a rank means.
    /// </summary>
    private static List<string> WithoutRepeats(List<string> merges)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<string>(merges.Count);
        for (int i = merges.Count - 1; i >= 0; i--)
        {
            if (seen.Add(merges[i]))
            {
                kept.Add(merges[i]);
            }
        }

        kept.Reverse();
        return kept;
    }
}
