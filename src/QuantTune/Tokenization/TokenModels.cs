using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>The <c>model</c> of tokenizer.json: encodes one pre-tokenized word at a time.</summary>
internal interface ITokenModel
{
    /// <summary>Token text to id, every token of the model.</summary>
    IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>The id unknown text becomes, when the model has one.</summary>
    int? UnknownId { get; }

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    void Encode(string word, List<int> ids);
}

/// <summary>One model type of tokenizer.json.</summary>
internal interface IModelType : ITokenizerComponent
{
    /// <summary>The model <paramref name="node"/> describes; <paramref name="byteLevel"/> when a ByteLevel pre-tokenizer feeds it.</summary>
    ITokenModel Create(JsonField node, bool byteLevel);
}

/// <summary>Every model type, one line each, and what they share.</summary>
internal static class TokenModels
{
    public static readonly ComponentRegistry<IModelType> Types = new(
        "model",
        new BpeModelType(),
        new WordLevelModelType(),
        new WordPieceModelType(),
        new UnigramModelType());

    public static ITokenModel Create(JsonField node, bool byteLevel) => Types.Find(node).Create(node, byteLevel);

    /// <summary>A <c>vocab</c> object (token text to id): ids non-negative and each used once.</summary>
    public static Dictionary<string, int> ReadVocabulary(JsonField vocabulary)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokenOf = new Dictionary<int, string>();
        foreach ((string token, JsonField id) in vocabulary.Properties())
        {
            int value = id.GetInt32();
            if (value < 0)
            {
                throw id.Fail("a non-negative id");
            }

            if (!tokenOf.TryAdd(value, token))
            {
                throw id.Invalid($"is {value}, the id of '{tokenOf[value]}' too; expected one id per token");
            }

            vocab[token] = value;
        }

        return vocab;
    }

    /// <summary>The id of <paramref name="unkToken"/> for a model that needs it now (unknown text met); a vocabulary without it is a format error.</summary>
    public static int RequireUnknown(int? unknownId, string file, string field, string? unkToken) =>
        unknownId ?? throw new TokenizerFormatException(file, field, $"is '{unkToken}', which is not in model.vocab; the text holds a word the vocabulary cannot spell, and the model has no unknown token for it", null);
}
