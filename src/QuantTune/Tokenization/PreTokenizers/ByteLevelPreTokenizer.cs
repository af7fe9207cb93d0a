using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>ByteLevel</c>: an optional prefix space, then (with <c>use_regex</c>, the default) GPT-2's word split;
/// the words are byte-level BPE input.
/// </summary>
internal sealed class ByteLevelPreTokenizer : IPreTokenizer
{
    /// <summary>GPT-2's word-splitting pattern, used with <c>use_regex: true</c>.</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly Lazy<Regex> Gpt2Regex = new(() => CodePointRegex.Create(Gpt2Pattern));

    public string Type => "ByteLevel";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        pipeline.MarkByteLevel();
        bool addPrefixSpace = node.OptionalBool("add_prefix_space") ?? false;
        bool useRegex = node.OptionalBool("use_regex") ?? true;
        pipeline.Add(piece =>
        {
            Piece spaced = addPrefixSpace && !piece.Text.StartsWith(' ') ? piece with { Text = " " + piece.Text } : piece;
            return useRegex ? DelimiterSplit.Split(Gpt2Regex.Value, spaced, SplitBehavior.Isolated, invert: false) : [spaced];
        });
    }
}
