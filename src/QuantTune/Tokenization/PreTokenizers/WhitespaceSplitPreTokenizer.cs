using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>WhitespaceSplit</c>: pieces cut at white space, which is dropped.</summary>
internal sealed class WhitespaceSplitPreTokenizer : IPreTokenizer
{
    public string Type => "WhitespaceSplit";

    public void Add(JsonField node, PreTokenizerPipeline pipeline) =>
        pipeline.Add(piece => DelimiterSplit.Split(CharClasses.WhiteSpace.Value, piece, SplitBehavior.Removed, invert: false));
}
