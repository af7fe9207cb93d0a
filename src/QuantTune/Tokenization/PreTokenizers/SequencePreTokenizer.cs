using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Sequence</c>: its <c>pretokenizers</c> applied in order, each to every piece of the one before.</summary>
internal sealed class SequencePreTokenizer : IPreTokenizer
{
    public string Type => "Sequence";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        foreach (JsonField child in node.Required("pretokenizers", "a list of pre-tokenizers").Items())
        {
            pipeline.Add(child);
        }
    }
}
