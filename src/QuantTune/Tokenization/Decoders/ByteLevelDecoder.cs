using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>ByteLevel</c>: GPT-2's byte alphabet back to UTF-8 text, every token joined.</summary>
internal sealed class ByteLevelDecoder : IDecoderType
{
    public string Type => "ByteLevel";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        decoder.Add(TokenDecoder.DecodeByteLevel);
    }
}
