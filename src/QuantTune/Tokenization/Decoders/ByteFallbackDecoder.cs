using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>ByteFallback</c>: runs of &lt;0xAB&gt; tokens become the text of their bytes (U+FFFD per byte when not UTF-8).</summary>
internal sealed class ByteFallbackDecoder : IDecoderType
{
    public string Type => "ByteFallback";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        decoder.Add(TokenDecoder.DecodeByteFallback);
    }
}
