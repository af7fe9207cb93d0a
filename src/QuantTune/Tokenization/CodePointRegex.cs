using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>
/// Makes a tokenizer.json regex match on code points, as Oniguruma (Hugging Face tokenizers) does. .NET matches
/// UTF-16 units, so a character outside the Basic Multilingual Plane (emoji, math letters, CJK Extension B) is two
/// surrogates of category Cs to <c>\p{L}</c>, <c>[^\s\p{L}\p{N}]</c>, <c>\S</c> or <c>.</c>: the pattern would
/// split it differently, or cut it in half. Every character class and class escape is rewritten as
/// <c>(?:[the class without surrogates]|pairs)</c>, where <c>pairs</c> matches exactly the surrogate pairs whose
/// code point the class contains (by its Unicode general category), so a pair is matched whole or not at all.
/// </summary>
/// <remarks>
/// Outside classes only <c>\p</c>, <c>\P</c>, <c>\d</c>, <c>\D</c>, <c>\w</c>, <c>\W</c>, <c>\S</c>, <c>.</c> and
/// literal pairs change; groups, quantifiers, anchors and lookarounds are copied. Nested classes, class intersection
/// (<c>&amp;&amp;</c>) and subtraction are refused, as are Unicode property names other than general categories.
/// </remarks>
internal static class CodePointRegex
{
    private const int FirstSupplementary = 0x10000;
    private const int SupplementaryCount = 0x100000;
    private const string NoSurrogates = @"-[\uD800-\uDFFF]";
    private const string AnyPair = @"[\uD800-\uDBFF][\uDC00-\uDFFF]";

    private static readonly Lazy<byte[]> SupplementaryCategories = new(() =>
    {
        var categories = new byte[SupplementaryCount];
        for (int i = 0; i < SupplementaryCount; i++)
        {
            categories[i] = (byte)CharUnicodeInfo.GetUnicodeCategory(FirstSupplementary + i);
        }

        return categories;
    });

    /// <summary>Compiled patterns by source pattern: tokenizers of one family share theirs, and compiling one takes a few hundred ms.</summary>
    private static readonly ConcurrentDictionary<string, Lazy<Regex>> Compiled = new(StringComparer.Ordinal);

    /// <summary>Compiles <paramref name="pattern"/> for code-point matching (once per process and pattern).</summary>
    /// <exception cref="ArgumentException">The pattern is invalid or uses a construct this translation does not support.</exception>
    public static Regex Create(string pattern)
    {
        Lazy<Regex> compiled = Compiled.GetOrAdd(pattern, p => new Lazy<Regex>(() => new Regex(Translate(p), RegexOptions.Compiled | RegexOptions.CultureInvariant)));
        try
        {
            return compiled.Value;
        }
        catch (ArgumentException)
        {
            Compiled.TryRemove(pattern, out _);
            throw;
        }
    }

    /// <summary>The .NET pattern that matches what <paramref name="pattern"/> matches on code points.</summary>
    public static string Translate(string pattern)
    {
        var output = new StringBuilder(pattern.Length * 2);
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                i = TranslateEscape(pattern, i, output);
            }
            else if (c == '[')
            {
                i = TranslateClass(pattern, i, output);
            }
            else if (c == '.')
            {
                output.Append(@"(?:[^\n\uD800-\uDFFF]|").Append(AnyPair).Append(')');
                i++;
            }
            else if (char.IsHighSurrogate(c) && i + 1 < pattern.Length && char.IsLowSurrogate(pattern[i + 1]))
            {
                output.Append("(?:").Append(c).Append(pattern[i + 1]).Append(')');
                i += 2;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        return output.ToString();
    }

    /// <summary>One member of a character class.</summary>
    private abstract record Item;

    private sealed record CodePoints(int First, int Last) : Item;

    /// <summary>A <c>\p{...}</c> / <c>\P{...}</c> property or a class escape such as <c>\d</c>, with the categories it stands for.</summary>
    private sealed record Categories(string DotNet, bool[] Members, bool Negated) : Item;

    private static int TranslateEscape(string pattern, int i, StringBuilder output)
    {
        if (i + 1 >= pattern.Length)
        {
            throw new ArgumentException("the pattern ends with a lone backslash");
        }

        char e = pattern[i + 1];
        if (e is 'p' or 'P' or 'd' or 'D' or 'w' or 'W' or 'S')
        {
            int next = ParseClassEscape(pattern, i, out Categories item);
            AppendClass(output, [item], negated: false);
            return next;
        }

        if (e == 'x')
        {
            int next = ParseHexEscape(pattern, i, out int codePoint);
            output.Append(codePoint >= FirstSupplementary ? $"(?:{char.ConvertFromUtf32(codePoint)})" : $"\\u{codePoint:X4}");
            return next;
        }

        output.Append(pattern, i, 2);
        return i + 2;
    }

    private static int TranslateClass(string pattern, int start, StringBuilder output)
    {
        int i = start + 1;
        bool negated = i < pattern.Length && pattern[i] == '^';
        if (negated)
        {
            i++;
        }

        var items = new List<Item>();
        bool first = true;
        while (true)
        {
            if (i >= pattern.Length)
            {
                throw new ArgumentException($"the character class at offset {start} is not closed");
            }

            char c = pattern[i];
            if (c == ']' && !first)
            {
                i++;
                break;
            }

            first = false;
            if (c == '[')
            {
                throw new ArgumentException($"nested character classes (offset {i}) are not supported");
            }

            if (c == '&' && i + 1 < pattern.Length && pattern[i + 1] == '&')
            {
                throw new ArgumentException($"class intersection '&&' (offset {i}) is not supported");
            }

            if (c == '\\' && i + 1 < pattern.Length && pattern[i + 1] is 'p' or 'P' or 'd' or 'D' or 'w' or 'W' or 's' or 'S')
            {
                i = ParseClassEscape(pattern, i, out Categories escape);
                items.Add(escape);
                continue;
            }

            i = ParseClassCodePoint(pattern, i, out int low);
            int high = low;
            if (i + 1 < pattern.Length && pattern[i] == '-' && pattern[i + 1] != ']')
            {
                if (pattern[i + 1] == '[')
                {
                    throw new ArgumentException($"class subtraction (offset {i}) is not supported");
                }

                i = ParseClassCodePoint(pattern, i + 1, out high);
                if (high < low)
                {
                    throw new ArgumentException($"the range ending at offset {i} is reversed");
                }
            }

            items.Add(new CodePoints(low, high));
        }

        AppendClass(output, items, negated);
        return i;
    }

    /// <summary>Writes the class as its BMP part (surrogates removed) plus the surrogate pairs of its supplementary code points.</summary>
    private static void AppendClass(StringBuilder output, List<Item> items, bool negated)
    {
        var bmp = new StringBuilder();
        foreach (Item item in items)
        {
            switch (item)
            {
                case CodePoints { First: < FirstSupplementary } range:
                    bmp.Append($"\\u{range.First:X4}");
                    if (range.Last > range.First)
                    {
                        bmp.Append($"-\\u{Math.Min(range.Last, 0xFFFF):X4}");
                    }

                    break;
                case Categories categories:
                    bmp.Append(categories.DotNet);
                    break;
            }
        }

        string? bmpClass = bmp.Length > 0 ? $"[{(negated ? "^" : "")}{bmp}{NoSurrogates}]" : negated ? @"[^\uD800-\uDFFF]" : null;
        string pairs = SurrogatePairs(Supplementary(items, negated));
        if (pairs.Length == 0)
        {
            output.Append(bmpClass ?? "[^\\s\\S]");
            return;
        }

        output.Append("(?:");
        if (bmpClass is not null)
        {
            output.Append(bmpClass).Append('|');
        }

        output.Append(pairs).Append(')');
    }

    /// <summary>Membership of each supplementary code point (index = code point - 0x10000).</summary>
    private static bool[] Supplementary(List<Item> items, bool negated)
    {
        byte[] categories = SupplementaryCategories.Value;
        var member = new bool[SupplementaryCount];
        foreach (Item item in items)
        {
            if (item is CodePoints range)
            {
                for (int cp = Math.Max(range.First, FirstSupplementary); cp <= range.Last; cp++)
                {
                    member[cp - FirstSupplementary] = true;
                }
            }
            else if (item is Categories set)
            {
                for (int i = 0; i < SupplementaryCount; i++)
                {
                    member[i] |= set.Members[categories[i]] != set.Negated;
                }
            }
        }

        if (negated)
        {
            for (int i = 0; i < SupplementaryCount; i++)
            {
                member[i] = !member[i];
            }
        }

        return member;
    }

    /// <summary>An alternation of <c>\uH[lows]</c> (or <c>[\uH1-\uH2][lows]</c> for runs of high surrogates with the same lows).</summary>
    private static string SurrogatePairs(bool[] member)
    {
        var parts = new List<string>();
        string? runLows = null;
        int runStart = 0;
        for (int high = 0; high <= 0x400; high++)
        {
            string? lows = high < 0x400 ? LowClass(member, high * 0x400) : null;
            if (lows == runLows)
            {
                continue;
            }

            if (runLows is not null)
            {
                string highs = high - 1 == runStart ? $"\\u{0xD800 + runStart:X4}" : $"[\\u{0xD800 + runStart:X4}-\\u{0xD800 + high - 1:X4}]";
                parts.Add(highs + runLows);
            }

            runLows = lows;
            runStart = high;
        }

        return string.Join("|", parts);
    }

    /// <summary>The low surrogates (as a class) completing the high surrogate whose first code point is at <paramref name="offset"/>, or null for none.</summary>
    private static string? LowClass(bool[] member, int offset)
    {
        var ranges = new StringBuilder();
        int low = 0;
        while (low < 0x400)
        {
            if (!member[offset + low])
            {
                low++;
                continue;
            }

            int first = low;
            while (low < 0x400 && member[offset + low])
            {
                low++;
            }

            ranges.Append($"\\u{0xDC00 + first:X4}");
            if (low - 1 > first)
            {
                ranges.Append($"-\\u{0xDC00 + low - 1:X4}");
            }
        }

        return ranges.Length == 0 ? null : $"[{ranges}]";
    }

    private static int ParseClassEscape(string pattern, int i, out Categories item)
    {
        char e = pattern[i + 1];
        if (e is 'p' or 'P')
        {
            string name;
            int next;
            if (i + 2 < pattern.Length && pattern[i + 2] == '{')
            {
                int close = pattern.IndexOf('}', i + 3);
                if (close < 0)
                {
                    throw new ArgumentException($"the property at offset {i} is not closed");
                }

                name = pattern[(i + 3)..close];
                next = close + 1;
            }
            else if (i + 2 < pattern.Length)
            {
                name = pattern[(i + 2)..(i + 3)];
                next = i + 3;
            }
            else
            {
                throw new ArgumentException($"the property at offset {i} has no name");
            }

            bool negated = e == 'P';
            if (name.StartsWith('^'))
            {
                negated = !negated;
                name = name[1..];
            }

            string dotNet = $"\\{(negated ? 'P' : 'p')}{{{name}}}";
            item = new Categories(dotNet, PropertyMembers(name), negated);
            return next;
        }

        item = e switch
        {
            'd' => new Categories(@"\d", Members(UnicodeCategory.DecimalDigitNumber), false),
            'D' => new Categories(@"\D", Members(UnicodeCategory.DecimalDigitNumber), true),
            'w' => new Categories(@"\w", WordMembers(), false),
            'W' => new Categories(@"\W", WordMembers(), true),
            's' => new Categories(@"\s", Members(), false),
            _ => new Categories(@"\S", Members(), true),
        };
        return i + 2;
    }

    /// <summary>A general category name (one or two letters) as the categories it covers; Is-block names cover no supplementary code point.</summary>
    private static bool[] PropertyMembers(string name)
    {
        if (name.StartsWith("Is", StringComparison.Ordinal))
        {
            return Members();
        }

        UnicodeCategory[] all = Enum.GetValues<UnicodeCategory>();
        UnicodeCategory[] selected = name.Length switch
        {
            1 => all.Where(c => Abbreviation(c)[0] == name[0]).ToArray(),
            2 => all.Where(c => Abbreviation(c) == name).ToArray(),
            _ => [],
        };

        return selected.Length == 0
            ? throw new ArgumentException($"the Unicode property '{name}' is not supported (expected a general category such as L, N, Lu, Nd)")
            : Members(selected);
    }

    private static bool[] WordMembers() => Members(
        UnicodeCategory.UppercaseLetter, UnicodeCategory.LowercaseLetter, UnicodeCategory.TitlecaseLetter, UnicodeCategory.ModifierLetter,
        UnicodeCategory.OtherLetter, UnicodeCategory.NonSpacingMark, UnicodeCategory.DecimalDigitNumber, UnicodeCategory.ConnectorPunctuation);

    private static bool[] Members(params UnicodeCategory[] categories)
    {
        var members = new bool[32];
        foreach (UnicodeCategory c in categories)
        {
            members[(int)c] = true;
        }

        return members;
    }

    private static string Abbreviation(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => "Lu",
        UnicodeCategory.LowercaseLetter => "Ll",
        UnicodeCategory.TitlecaseLetter => "Lt",
        UnicodeCategory.ModifierLetter => "Lm",
        UnicodeCategory.OtherLetter => "Lo",
        UnicodeCategory.NonSpacingMark => "Mn",
        UnicodeCategory.SpacingCombiningMark => "Mc",
        UnicodeCategory.EnclosingMark => "Me",
        UnicodeCategory.DecimalDigitNumber => "Nd",
        UnicodeCategory.LetterNumber => "Nl",
        UnicodeCategory.OtherNumber => "No",
        UnicodeCategory.SpaceSeparator => "Zs",
        UnicodeCategory.LineSeparator => "Zl",
        UnicodeCategory.ParagraphSeparator => "Zp",
        UnicodeCategory.Control => "Cc",
        UnicodeCategory.Format => "Cf",
        UnicodeCategory.Surrogate => "Cs",
        UnicodeCategory.PrivateUse => "Co",
        UnicodeCategory.ConnectorPunctuation => "Pc",
        UnicodeCategory.DashPunctuation => "Pd",
        UnicodeCategory.OpenPunctuation => "Ps",
        UnicodeCategory.ClosePunctuation => "Pe",
        UnicodeCategory.InitialQuotePunctuation => "Pi",
        UnicodeCategory.FinalQuotePunctuation => "Pf",
        UnicodeCategory.OtherPunctuation => "Po",
        UnicodeCategory.MathSymbol => "Sm",
        UnicodeCategory.CurrencySymbol => "Sc",
        UnicodeCategory.ModifierSymbol => "Sk",
        UnicodeCategory.OtherSymbol => "So",
        _ => "Cn",
    };

    /// <summary>One code point of a class (a character, a surrogate pair or an escape) starting at <paramref name="i"/>.</summary>
    private static int ParseClassCodePoint(string pattern, int i, out int codePoint)
    {
        char c = pattern[i];
        if (c != '\\')
        {
            if (char.IsHighSurrogate(c) && i + 1 < pattern.Length && char.IsLowSurrogate(pattern[i + 1]))
            {
                codePoint = char.ConvertToUtf32(c, pattern[i + 1]);
                return i + 2;
            }

            codePoint = c;
            return i + 1;
        }

        if (i + 1 >= pattern.Length)
        {
            throw new ArgumentException("the pattern ends with a lone backslash");
        }

        char e = pattern[i + 1];
        switch (e)
        {
            case 'x':
                return ParseHexEscape(pattern, i, out codePoint);
            case 'u':
                codePoint = ParseHex(pattern, i + 2, 4);
                return i + 6;
            case 'n': codePoint = '\n'; return i + 2;
            case 'r': codePoint = '\r'; return i + 2;
            case 't': codePoint = '\t'; return i + 2;
            case 'f': codePoint = '\f'; return i + 2;
            case 'v': codePoint = '\v'; return i + 2;
            case 'a': codePoint = '\a'; return i + 2;
            case 'e': codePoint = 0x1B; return i + 2;
            case '0': codePoint = 0; return i + 2;
        }

        if (char.IsAsciiLetterOrDigit(e))
        {
            throw new ArgumentException($"the escape '\\{e}' inside a character class (offset {i}) is not supported");
        }

        codePoint = e;
        return i + 2;
    }

    /// <summary><c>\xHH</c> or <c>\x{H...}</c>.</summary>
    private static int ParseHexEscape(string pattern, int i, out int codePoint)
    {
        if (i + 2 < pattern.Length && pattern[i + 2] == '{')
        {
            int close = pattern.IndexOf('}', i + 3);
            if (close < 0)
            {
                throw new ArgumentException($"the escape at offset {i} is not closed");
            }

            codePoint = ParseHex(pattern, i + 3, close - (i + 3));
            return close + 1;
        }

        codePoint = ParseHex(pattern, i + 2, 2);
        return i + 4;
    }

    private static int ParseHex(string pattern, int start, int length)
    {
        if (length is < 1 or > 6 || start + length > pattern.Length
            || !int.TryParse(pattern.AsSpan(start, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value)
            || value > 0x10FFFF)
        {
            throw new ArgumentException($"the hexadecimal escape at offset {start} is invalid");
        }

        return value;
    }
}
