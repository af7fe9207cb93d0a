using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>
/// The <c>pre_tokenizer</c> of tokenizer.json: splits a normalized segment into the words that BPE encodes
/// one by one. Supports ByteLevel, Split (every behaviour, with or without <c>invert</c>), Metaspace, Digits and
/// Sequence of these. Patterns match on code points (<see cref="CodePointRegex"/>), as in Hugging Face tokenizers.
/// </summary>
internal sealed class PreTokenizerPipeline
{
    /// <summary>GPT-2's word-splitting pattern, used by ByteLevel with <c>use_regex: true</c>.</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const string Supported = "one of ByteLevel, Split, Metaspace, Digits, Sequence";
    private static readonly Lazy<Regex> Gpt2Regex = new(() => CodePointRegex.Create(Gpt2Pattern));

    /// <summary>One numeric character (Rust's <c>char::is_numeric</c>: categories Nd, Nl, No), for Digits.</summary>
    private static readonly Lazy<Regex> NumericRegex = new(() => CodePointRegex.Create(@"\p{N}"));

    /// <summary>One step: (piece, piece starts at the very start of the input) to the pieces it becomes.</summary>
    private delegate IEnumerable<string> Step(string piece, bool atTextStart);

    private readonly List<Step> _steps = new();

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

    public List<string> Split(string segment, bool atTextStart)
    {
        var pieces = new List<string> { segment };
        foreach (Step step in _steps)
        {
            var next = new List<string>(pieces.Count);
            for (int i = 0; i < pieces.Count; i++)
            {
                next.AddRange(step(pieces[i], atTextStart && i == 0));
            }

            pieces = next;
        }

        return pieces;
    }

    private void Add(JsonField node)
    {
        JsonField type = node.Required("type", Supported);
        switch (type.GetString())
        {
            case "Sequence":
                foreach (JsonField child in node.Required("pretokenizers", "a list of pre-tokenizers").Items())
                {
                    Add(child);
                }

                break;
            case "ByteLevel":
                IsByteLevel = true;
                bool addPrefixSpace = node.OptionalBool("add_prefix_space") ?? false;
                bool useRegex = node.OptionalBool("use_regex") ?? true;
                _steps.Add((piece, _) =>
                {
                    string s = addPrefixSpace && !piece.StartsWith(' ') ? " " + piece : piece;
                    return useRegex ? DelimiterSplit.Split(Gpt2Regex.Value, s, SplitBehavior.Isolated, invert: false) : [s];
                });
                break;
            case "Split":
                _steps.Add(ParseSplit(node));
                break;
            case "Metaspace":
                _steps.Add(ParseMetaspace(node));
                break;
            case "Digits":
                // tokenizers' Digits: each numeric character a piece of its own (individual_digits), or each run of them.
                SplitBehavior digits = node.OptionalBool("individual_digits") ?? false ? SplitBehavior.Isolated : SplitBehavior.Contiguous;
                _steps.Add((piece, _) => DelimiterSplit.Split(NumericRegex.Value, piece, digits, invert: false));
                break;
            default:
                throw type.Fail(Supported);
        }
    }

    private static Step ParseSplit(JsonField node)
    {
        JsonField pattern = node.Required("pattern", "{\"String\": ...} or {\"Regex\": ...}");
        string regex = pattern.OptionalString("Regex")
            ?? (pattern.OptionalString("String") is { } literal ? Regex.Escape(literal) : throw pattern.Fail("{\"String\": ...} or {\"Regex\": ...}"));
        SplitBehavior behavior = DelimiterSplit.ParseBehavior(node.Required("behavior", "a split behaviour such as 'Isolated'"));
        bool invert = node.OptionalBool("invert") ?? false;
        Regex compiled = Compile(pattern, regex);
        return (piece, _) => DelimiterSplit.Split(compiled, piece, behavior, invert);
    }

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

    private static Step ParseMetaspace(JsonField node)
    {
        JsonField replacementField = node.Required("replacement", "a one-character string such as '▁'");
        string replacement = replacementField.GetString();
        if (replacement.Length != 1)
        {
            throw replacementField.Fail("a one-character string such as '▁'");
        }

        string scheme = node.Optional("prepend_scheme") is { } schemeField
            ? schemeField.GetString() is "first" or "always" or "never" ? schemeField.GetString() : throw schemeField.Fail("'first', 'always' or 'never'")
            : (node.OptionalBool("add_prefix_space") ?? true) ? "always" : "never";
        bool split = node.OptionalBool("split") ?? true;
        char mark = replacement[0];

        return (piece, atTextStart) =>
        {
            string s = piece.Replace(' ', mark);
            if ((scheme == "always" || (scheme == "first" && atTextStart)) && !s.StartsWith(mark))
            {
                s = replacement + s;
            }

            return split ? SplitBefore(s, mark) : [s];
        };
    }

    /// <summary>Splits so that every <paramref name="mark"/> starts a new piece ("MergedWithNext").</summary>
    private static List<string> SplitBefore(string s, char mark)
    {
        var parts = new List<string>();
        int start = 0;
        for (int i = 1; i < s.Length; i++)
        {
            if (s[i] == mark)
            {
                parts.Add(s[start..i]);
                start = i;
            }
        }

        if (start < s.Length)
        {
            parts.Add(s[start..]);
        }

        return parts;
    }
}
