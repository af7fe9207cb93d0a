using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Sequence</c>: its <c>processors</c> applied in order.</summary>
internal sealed class SequencePostProcessor : IPostProcessorType
{
    public string Type => "Sequence";

    public void Add(JsonField node, List<int> prefix, List<int> suffix)
    {
        foreach (JsonField child in node.Required("processors", "a list of post-processors").Items())
        {
            PostProcessor.Add(child, prefix, suffix);
        }
    }
}
