using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>Character classes of Hugging Face tokenizers' character-based pre-tokenizers, as code-point regexes.</summary>
internal static class CharClasses
{
    /// <summary>One white-space character (Rust's <c>char::is_whitespace</c>, Unicode White_Space).</summary>
    public static readonly Lazy<Regex> WhiteSpace = new(() => CodePointRegex.Create(@"\s"));

    /// <summary>One punctuation character: ASCII punctuation (which counts $ + &lt; = &gt; ^ ` | ~) or Unicode category P.</summary>
    public static readonly Lazy<Regex> Punctuation = new(() => CodePointRegex.Create(@"[\p{P}!-/:-@\[-`{-~]"));
}
