using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary><c>Digits</c>: each numeric character a piece of its own (<c>individual_digits</c>), or each run of them.</summary>
internal sealed class DigitsPreTokenizer : IPreTokenizer
{
    /// <summary>One numeric character (Rust's <c>char::is_numeric</c>: categories Nd, Nl, No).</summary>
    private static readonly Lazy<Regex> NumericRegex = new(() => CodePointRegex.Create(@"\p{N}"));

    public string Type => "Digits";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        SplitBehavior digits = node.OptionalBool("individual_digits") ?? false ? SplitBehavior.Isolated : SplitBehavior.Contiguous;
        pipeline.Add(piece => DelimiterSplit.Split(NumericRegex.Value, piece, digits, invert: false));
    }
}
