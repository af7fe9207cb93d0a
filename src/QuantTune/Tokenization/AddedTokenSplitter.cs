using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>
/// Splits text around literal occurrences of added tokens (leftmost, longest first), as the Hugging Face
/// tokenizer does before normalization and pre-tokenization. <c>lstrip</c>/<c>rstrip</c> make the token
/// swallow the whitespace on that side; <c>single_word</c> rejects matches touching a word character.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Regex? _pattern;
    private readonly Dictionary<string, AddedToken> _byContent;

    public AddedTokenSplitter(IReadOnlyList<AddedToken> tokens)
    {
        _byContent = tokens.Where(t => t.Content.Length > 0).GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        if (_byContent.Count > 0)
        {
            // .NET alternation takes the first alternative that matches, so longest first gives leftmost-longest.
            string alternation = string.Join("|", _byContent.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape));
            _pattern = new Regex(alternation, RegexOptions.CultureInvariant);
        }
    }

    /// <summary>A piece of the input: either plain text (<see cref="TokenId"/> null) or one added token.</summary>
    public readonly record struct Segment(int Start, int Length, int? TokenId);

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        int textStart = 0;
        int searchFrom = 0;
        while (_pattern is not null && searchFrom < text.Length)
        {
            Match m = _pattern.Match(text, searchFrom);
            if (!m.Success)
            {
                break;
            }

            AddedToken token = _byContent[m.Value];
            int start = m.Index;
            int end = m.Index + m.Length;
            if (token.SingleWord && !IsWholeWord(text, start, end))
            {
                searchFrom = m.Index + 1;
                continue;
            }

            while (token.LStrip && start > textStart && char.IsWhiteSpace(text[start - 1]))
            {
                start--;
            }

            while (token.RStrip && end < text.Length && char.IsWhiteSpace(text[end]))
            {
                end++;
            }

            if (start > textStart)
            {
                segments.Add(new Segment(textStart, start - textStart, null));
            }

            segments.Add(new Segment(start, end - start, token.Id));
            textStart = searchFrom = end;
        }

        if (textStart < text.Length)
        {
            segments.Add(new Segment(textStart, text.Length - textStart, null));
        }

        return segments;
    }

    private static bool IsWholeWord(string text, int start, int end)
    {
        return (start == 0 || !IsWordChar(text[start - 1])) && (end == text.Length || !IsWordChar(text[end]));
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
