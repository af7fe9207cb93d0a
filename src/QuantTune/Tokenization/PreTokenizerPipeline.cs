using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>A piece of pre-tokenized text, and whether it begins where the text does (Metaspace's "first" asks).</summary>
internal readonly record struct Piece(string Text, bool AtTextStart);

/// <summary>One pre-tokenizer step: a piece to the pieces it becomes.</summary>
internal delegate IEnumerable<Piece> PreTokenizeStep(Piece piece);

/// <summary>One pre-tokenizer type of tokenizer.json: adds its steps to a pipeline.</summary>
internal interface IPreTokenizer : ITokenizerComponent
{
    void Add(JsonField node, PreTokenizerPipeline pipeline);
}

/// <summary>
/// The <c>pre_tokenizer</c> of tokenizer.json: splits a normalized segment into the words that the model encodes
/// one by one. Each type is a class registered in <see cref="Types"/>. Patterns match on code points
/// (<see cref="CodePointRegex"/>), as in Hugging Face tokenizers.
/// </summary>
internal sealed class PreTokenizerPipeline
{
    /// <summary>Every pre-tokenizer type, one line each.</summary>
    public static readonly ComponentRegistry<IPreTokenizer> Types = new(
        "pre-tokenizer",
        new SequencePreTokenizer(),
        new ByteLevelPreTokenizer(),
        new SplitPreTokenizer(),
        new MetaspacePreTokenizer(),
        new DigitsPreTokenizer(),
        new WhitespacePreTokenizer(),
        new WhitespaceSplitPreTokenizer(),
        new PunctuationPreTokenizer(),
        new CharDelimiterSplitPreTokenizer(),
        new BertPreTokenizer(),
        new FixedLengthPreTokenizer(),
        new UnicodeScriptsPreTokenizer());

    private readonly List<PreTokenizeStep> _steps = new();

    private PreTokenizerPipeline()
    {
    }

    /// <summary>True when a ByteLevel step is present: the words are then byte-level BPE input.</summary>
    public bool IsByteLevel { get; private set; }

    public static PreTokenizerPipeline Parse(JsonField? preTokenizer)
    {
        var pipeline = new PreTokenizerPipeline();
        if (preTokenizer is { } p)
        {
            pipeline.Add(p);
        }

        return pipeline;
    }

    /// <summary>
    /// The words of <paramref name="segment"/>; <paramref name="atTextStart"/> when it begins the text. Empty pieces
    /// are dropped before every step, as Hugging Face tokenizers drops them.
    /// </summary>
    public List<string> Split(string segment, bool atTextStart)
    {
        var pieces = new List<Piece> { new(segment, atTextStart) };
        foreach (PreTokenizeStep step in _steps)
        {
            var next = new List<Piece>(pieces.Count);
            foreach (Piece piece in pieces)
            {
                if (piece.Text.Length > 0)
                {
                    next.AddRange(step(piece));
                }
            }

            pieces = next;
        }

        return pieces.Where(p => p.Text.Length > 0).Select(p => p.Text).ToList();
    }

    /// <summary>Adds the steps of one pre-tokenizer node (of any registered type).</summary>
    public void Add(JsonField node) => Types.Find(node).Add(node, this);

    /// <summary>Appends one step.</summary>
    public void Add(PreTokenizeStep step) => _steps.Add(step);

    /// <summary>Marks the words as byte-level BPE input (a ByteLevel step is present).</summary>
    public void MarkByteLevel() => IsByteLevel = true;

    /// <summary>Compiles a tokenizer.json pattern for code-point matching; a pattern .NET cannot run is a format error naming the field.</summary>
    internal static Regex Compile(JsonField field, string regex)
    {
        try
        {
            return CodePointRegex.Create(regex);
        }
        catch (ArgumentException e)
        {
            throw field.Invalid($"holds the regex '{regex}', which cannot be used: {e.Message}");
        }
    }
}
