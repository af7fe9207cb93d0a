using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Sequence</c>: its <c>normalizers</c> applied in order.</summary>
internal sealed class SequenceNormalizer : INormalizer
{
    public string Type => "Sequence";

    public Func<string, string> Create(JsonField node)
    {
        Func<string, string>[] steps = node.Required("normalizers", "a list of normalizers").Items().Select(TextNormalizer.Create).ToArray();
        return s => steps.Aggregate(s, (acc, step) => step(acc));
    }
}
