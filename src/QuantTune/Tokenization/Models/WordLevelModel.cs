using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>WordLevel</c>: each word is one token of <c>vocab</c>, or <c>unk_token</c> (default "&lt;unk&gt;").</summary>
internal sealed class WordLevelModelType : IModelType
{
    public string Type => "WordLevel";

    public ITokenModel Create(JsonField node, bool byteLevel)
    {
        Dictionary<string, int> vocab = TokenModels.ReadVocabulary(node.Required("vocab", "an object mapping token text to id"));
        string unkToken = node.OptionalString("unk_token") ?? "<unk>";
        return new WordLevelModel(vocab, vocab.TryGetValue(unkToken, out int unk) ? unk : null, node.File, unkToken);
    }
}

/// <summary>A word-level vocabulary (see <see cref="WordLevelModelType"/>).</summary>
internal sealed class WordLevelModel(Dictionary<string, int> vocab, int? unknownId, string file, string unkToken) : ITokenModel
{
    public IReadOnlyDictionary<string, int> Vocabulary => vocab;

    public int? UnknownId => unknownId;

    public void Encode(string word, List<int> ids) =>
        ids.Add(vocab.TryGetValue(word, out int id) ? id : TokenModels.RequireUnknown(unknownId, file, "model.unk_token", unkToken));
}
