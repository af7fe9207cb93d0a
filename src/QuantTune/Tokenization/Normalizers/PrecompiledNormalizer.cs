using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>Precompiled</c>: SentencePiece's compiled normalization rules (<c>precompiled_charsmap</c>, a base64
/// double-array trie). An empty or null charsmap normalizes nothing and is read as that; a non-empty one is
/// refused by name, since its rules are not implemented.
/// </summary>
internal sealed class PrecompiledNormalizer : INormalizer
{
    public string Type => "Precompiled";

    public Func<string, string> Create(JsonField node)
    {
        if (node.Optional("precompiled_charsmap") is not { } charsmap || charsmap.GetString().Length == 0)
        {
            return s => s;
        }

        throw charsmap.Invalid("holds SentencePiece's compiled normalization rules, which this library does not apply; expected a tokenizer.json whose normalizer spells its rules out (NFKC, Replace, ...) or an empty charsmap");
    }
}
