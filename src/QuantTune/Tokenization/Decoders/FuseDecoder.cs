using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Fuse</c>: the tokens joined into one.</summary>
internal sealed class FuseDecoder : IDecoderType
{
    public string Type => "Fuse";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        decoder.Add(tokens => [string.Concat(tokens)]);
    }
}
