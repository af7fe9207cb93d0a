using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Punctuation</c>: each punctuation character a delimiter, treated by <c>behavior</c> (default Isolated).</summary>
internal sealed class PunctuationPreTokenizer : IPreTokenizer
{
    public string Type => "Punctuation";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        SplitBehavior behavior = node.Optional("behavior") is { } b ? DelimiterSplit.ParseBehavior(b) : SplitBehavior.Isolated;
        pipeline.Add(piece => DelimiterSplit.Split(CharClasses.Punctuation.Value, piece, behavior, invert: false));
    }
}
