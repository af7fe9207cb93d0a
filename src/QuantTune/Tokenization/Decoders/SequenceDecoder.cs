using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Sequence</c>: its <c>decoders</c> applied in order.</summary>
internal sealed class SequenceDecoder : IDecoderType
{
    public string Type => "Sequence";

    public void Add(JsonField node, TokenDecoder decoder)
    {
        foreach (JsonField child in node.Required("decoders", "a list of decoders").Items())
        {
            decoder.Add(child);
        }
    }
}
