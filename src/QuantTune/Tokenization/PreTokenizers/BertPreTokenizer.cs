using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>BertPreTokenizer</c>: pieces cut at white space (dropped), then each punctuation character a piece of its own.</summary>
internal sealed class BertPreTokenizer : IPreTokenizer
{
    public string Type => "BertPreTokenizer";

    public void Add(JsonField node, PreTokenizerPipeline pipeline) =>
        pipeline.Add(piece => DelimiterSplit.Split(CharClasses.WhiteSpace.Value, piece, SplitBehavior.Removed, invert: false)
            .SelectMany(word => DelimiterSplit.Split(CharClasses.Punctuation.Value, word, SplitBehavior.Isolated, invert: false)));
}
