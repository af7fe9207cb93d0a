using QuantTune.Diagnostics;
using QuantTune.Tokenization;

namespace QuantTune.Training.Data;

/// <summary>
/// Plain text for language modelling: the whole file tokenized as one stream and cut into
/// non-overlapping windows of <c>T + 1</c> tokens. A window gives an example of <c>T</c> inputs whose
/// labels are the next tokens (<c>Labels[i] = window[i + 1]</c>), so every position has a loss. The
/// last window may be shorter (at least 2 tokens); the batcher pads it.
/// </summary>
/// <remarks>
/// Windows do not overlap, so the token that ends one window and the token that starts the next are
/// never paired as input and target: the price of every token appearing in exactly one example.
/// A single token left over at the end cannot form an example and is dropped.
/// </remarks>
public sealed class TextDataset
{
    private readonly int[] _tokens;

    private TextDataset(int[] tokens, int sequenceLength)
    {
        _tokens = tokens;
        SequenceLength = sequenceLength;
        Examples = Windows(tokens, sequenceLength);
    }

    /// <summary>The token stream the windows are cut from.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>T: inputs per example (each window holds T + 1 tokens).</summary>
    public int SequenceLength { get; }

    public IReadOnlyList<TokenizedExample> Examples { get; }

    /// <summary>
    /// Tokenizes a UTF-8 file as one text. With <paramref name="addBos"/> the tokenizer's BOS (if any) starts
    /// the stream; a caller that splits documents can build its own stream and use <see cref="FromTokens"/>.
    /// </summary>
    /// <exception cref="InvalidFormatException">The file is not UTF-8 or has fewer than 2 tokens.</exception>
    public static TextDataset FromFile(string path, HfTokenizer tokenizer, int sequenceLength, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        CheckSequenceLength(sequenceLength);
        string text = DataFile.ReadText(path);
        var tokens = new List<int>();
        if (addBos && tokenizer.BosId is int bos)
        {
            tokens.Add(bos);
        }

        tokens.AddRange(tokenizer.Encode(text));
        if (tokens.Count < 2)
        {
            throw new InvalidFormatException(path, null, $"has {tokens.Count} token(s); expected at least 2 to predict one from the other");
        }

        return new TextDataset([.. tokens], sequenceLength);
    }

    public static TextDataset FromTokens(IReadOnlyList<int> tokens, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        CheckSequenceLength(sequenceLength);
        if (tokens.Count < 2)
        {
            throw new QuantTuneException($"the text has {tokens.Count} token(s); expected at least 2");
        }

        return new TextDataset([.. tokens], sequenceLength);
    }

    /// <summary>
    /// Splits the token stream, not the windows: the first <paramref name="trainFraction"/> of the tokens
    /// train, the rest evaluate. No token is in both, and no window straddles the cut.
    /// </summary>
    public (TextDataset Train, TextDataset Eval) Split(double trainFraction = 0.9)
    {
        if (!(trainFraction > 0 && trainFraction < 1))
        {
            throw new QuantTuneException($"train fraction {trainFraction}: expected a number between 0 and 1 (exclusive)");
        }

        int[] tokens = _tokens;
        int cut = (int)(tokens.Length * trainFraction);
        if (cut < 2 || tokens.Length - cut < 2)
        {
            throw new QuantTuneException(
                $"train fraction {trainFraction} of {tokens.Length} tokens leaves {cut} and {tokens.Length - cut}; each part needs at least 2");
        }

        return (new TextDataset(tokens[..cut], SequenceLength), new TextDataset(tokens[cut..], SequenceLength));
    }

    private static TokenizedExample[] Windows(int[] tokens, int sequenceLength)
    {
        int window = sequenceLength + 1;
        var examples = new List<TokenizedExample>(tokens.Length / window + 1);
        for (int start = 0; tokens.Length - start >= 2; start += window)
        {
            int length = Math.Min(window, tokens.Length - start);
            examples.Add(new TokenizedExample(tokens[start..(start + length - 1)], tokens[(start + 1)..(start + length)]));
        }

        return [.. examples];
    }

    private static void CheckSequenceLength(int sequenceLength)
    {
        if (sequenceLength < 1)
        {
            throw new QuantTuneException($"sequence length {sequenceLength}: expected a positive number of tokens");
        }
    }
}
