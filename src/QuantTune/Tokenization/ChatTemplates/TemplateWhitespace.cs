using System.Text;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The whitespace rules transformers renders chat templates with, applied to the source before
/// it is tokenized: the one trailing newline dropped (Jinja's keep_trailing_newline=False),
/// <c>lstrip_blocks</c> (spaces and tabs before a <c>{%</c> or <c>{#</c> that starts a line
/// removed) and <c>trim_blocks</c> (the newline right after <c>%}</c> or <c>#}</c> removed).
/// Inside <c>{% raw %}...{% endraw %}</c> nothing changes but the spaces before the <c>{% endraw %}</c> that starts a line,
/// and the newline right after <c>{% raw %}</c> stays, as jinja2's lexer does it.
/// Keeps, for each character left, the line it came from, so errors name the template's line.
/// </summary>
internal static class TemplateWhitespace
{
    /// <summary>A <c>{% raw %}</c> tag (jinja2 takes <c>-</c> on either side, <c>+</c> only before).</summary>
    public static readonly Regex RawOpen = new(@"\G\{%([-+]?)\s*raw\s*(-?)%\}", RegexOptions.CultureInvariant);

    /// <summary>The <c>{% endraw %}</c> tag that ends a raw block.</summary>
    public static readonly Regex RawClose = new(@"\{%([-+]?)\s*endraw\s*([-+]?)%\}", RegexOptions.CultureInvariant);

    /// <summary>The raw blocks' contents: from just after <c>{% raw %}</c> to the <c>{%</c> of their <c>{% endraw %}</c>.</summary>
    private static List<(int Start, int End)> RawSpans(string source)
    {
        var spans = new List<(int, int)>();
        for (int at = source.IndexOf("{%", StringComparison.Ordinal); at >= 0; at = source.IndexOf("{%", at + 2, StringComparison.Ordinal))
        {
            Match open = RawOpen.Match(source, at);
            if (!open.Success) continue;
            Match close = RawClose.Match(source, open.Index + open.Length);
            if (!close.Success) break;
            spans.Add((open.Index + open.Length, close.Index));
            at = close.Index;
        }
        return spans;
    }

    public static (string Text, int[] Lines) Apply(string source)
    {
        var lines = new int[source.Length];
        int line = 1;
        for (int i = 0; i < source.Length; i++)
        {
            lines[i] = line;
            if (source[i] == '\n') line++;
        }

        int end = source.EndsWith('\n') ? source.Length - 1 : source.Length;
        var kept = new List<int>(end);
        var raw = RawSpans(source);
        bool InRaw(int i) => raw.Any(r => i >= r.Start && i < r.End);
        bool EndsRaw(int j) => raw.Any(r => j == r.End) && source[j + 2] != '+';

        // lstrip_blocks
        for (int i = 0; i < end; i++)
        {
            bool lineStart = i == 0 || source[i - 1] == '\n' || source[i - 1] == '\r';
            if (lineStart)
            {
                int j = i;
                while (j < end && (source[j] == ' ' || source[j] == '\t')) j++;
                if (j > i && j + 1 < end && source[j] == '{' && source[j + 1] is '#' or '%' or '-' && (!InRaw(i) || EndsRaw(j)))
                {
                    i = j - 1;
                    continue;
                }
            }
            kept.Add(i);
        }

        // trim_blocks
        var text = new StringBuilder(kept.Count);
        var keptLines = new List<int>(kept.Count);
        for (int k = 0; k < kept.Count; k++)
        {
            char c = source[kept[k]];
            if (c == '\n' && k >= 2 && source[kept[k - 1]] == '}' && source[kept[k - 2]] is '#' or '%' or '-' && !InRaw(kept[k]) && !EndsRawNoTrim(kept[k]))
            {
                continue;
            }
            text.Append(c);
            keptLines.Add(lines[kept[k]]);
        }
        return (text.ToString(), keptLines.ToArray());

        // "{% endraw +%}" keeps the newline after it.
        bool EndsRawNoTrim(int i) => i >= 3 && source[i - 3] == '+' && raw.Any(r => RawClose.Match(source, r.End) is { Success: true } m && m.Index == r.End && m.Index + m.Length == i);
    }
}
