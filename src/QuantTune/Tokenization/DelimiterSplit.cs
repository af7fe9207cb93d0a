using QuantTune.IO;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>What the <c>Split</c> pre-tokenizer does with each match of its pattern (tokenizers' SplitDelimiterBehavior).</summary>
internal enum SplitBehavior
{
    /// <summary>Matches are dropped.</summary>
    Removed,

    /// <summary>Each match is a piece of its own.</summary>
    Isolated,

    /// <summary>A match joins the piece before it.</summary>
    MergedWithPrevious,

    /// <summary>A match joins the piece after it.</summary>
    MergedWithNext,

    /// <summary>Adjacent matches form one piece.</summary>
    Contiguous,
}

/// <summary>
/// Splits a piece around the matches of a pattern as Hugging Face tokenizers' <c>NormalizedString::split</c> does:
/// the text is cut into alternating matches and gaps (with <c>invert</c> the gaps count as the matches), then
/// the behaviour decides what becomes of the matches; empty pieces are dropped.
/// </summary>
internal static class DelimiterSplit
{
    private const string Behaviors = "one of 'Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'";

    public static SplitBehavior ParseBehavior(JsonField behavior)
    {
        return behavior.GetString() switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            _ => throw behavior.Fail(Behaviors),
        };
    }

    public static List<string> Split(Regex pattern, string s, SplitBehavior behavior, bool invert) =>
        Spans(pattern, s, behavior, invert).Select(span => s[span.Start..span.End]).ToList();

    /// <summary>The pieces of <paramref name="piece"/>; the first begins the text when it begins where <paramref name="piece"/> does.</summary>
    public static IEnumerable<Piece> Split(Regex pattern, Piece piece, SplitBehavior behavior, bool invert) =>
        Spans(pattern, piece.Text, behavior, invert).Select(span => new Piece(piece.Text[span.Start..span.End], piece.AtTextStart && span.Start == 0));

    /// <summary>The non-empty pieces as spans of <paramref name="s"/>, in order.</summary>
    private static List<Span> Spans(Regex pattern, string s, SplitBehavior behavior, bool invert)
    {
        if (s.Length == 0)
        {
            return [];
        }

        List<Span> spans = behavior switch
        {
            SplitBehavior.Isolated => Matches(pattern, s, invert),
            SplitBehavior.Removed => Matches(pattern, s, invert).Where(span => !span.IsMatch).ToList(),
            SplitBehavior.Contiguous => Merge(Matches(pattern, s, invert), (isMatch, previousMatch) => isMatch == previousMatch, intoNext: false),
            SplitBehavior.MergedWithPrevious => Merge(Matches(pattern, s, invert), (isMatch, previousMatch) => isMatch && !previousMatch, intoNext: false),
            _ => Merge(Matches(pattern, s, invert), (isMatch, previousMatch) => isMatch && !previousMatch, intoNext: true),
        };

        return spans.Where(span => span.End > span.Start).ToList();
    }

    private readonly record struct Span(int Start, int End, bool IsMatch);

    /// <summary>The matches and the gaps between them, covering <paramref name="s"/> in order.</summary>
    private static List<Span> Matches(Regex pattern, string s, bool invert)
    {
        var spans = new List<Span>();
        int previous = 0;
        for (Match m = pattern.Match(s); m.Success; m = m.NextMatch())
        {
            // .NET steps past an empty match by one UTF-16 unit: never cut a surrogate pair there.
            if (m.Length == 0 && m.Index > 0 && m.Index < s.Length && char.IsSurrogatePair(s[m.Index - 1], s[m.Index]))
            {
                continue;
            }

            if (m.Index != previous)
            {
                spans.Add(new Span(previous, m.Index, invert));
            }

            spans.Add(new Span(m.Index, m.Index + m.Length, !invert));
            previous = m.Index + m.Length;
        }

        if (previous != s.Length)
        {
            spans.Add(new Span(previous, s.Length, invert));
        }

        return spans;
    }

    /// <summary>
    /// tokenizers' fold: a span for which <paramref name="joins"/>(is match, previous was a match) holds extends the
    /// last piece (walking backwards when <paramref name="intoNext"/>, so it joins the piece after it).
    /// </summary>
    private static List<Span> Merge(List<Span> spans, Func<bool, bool, bool> joins, bool intoNext)
    {
        if (intoNext)
        {
            spans.Reverse();
        }

        var merged = new List<Span>(spans.Count);
        bool previousMatch = false;
        foreach (Span span in spans)
        {
            if (joins(span.IsMatch, previousMatch) && merged.Count > 0)
            {
                Span last = merged[^1];
                merged[^1] = intoNext ? last with { Start = span.Start } : last with { End = span.End };
            }
            else
            {
                merged.Add(span with { IsMatch = false });
            }

            previousMatch = span.IsMatch;
        }

        if (intoNext)
        {
            merged.Reverse();
        }

        return merged;
    }
}
