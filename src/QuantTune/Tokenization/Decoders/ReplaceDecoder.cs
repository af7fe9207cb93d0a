using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Replace</c>: every match of <c>pattern</c> in each token becomes <c>content</c>.</summary>
internal sealed class ReplaceDecoder : IDecoderType
{
    public string Type => "Replace";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        Func<string, string> replace = TextNormalizer.ParseReplace(node);
        decoder.Add(tokens => tokens.Select(replace).ToList());
    }
}
