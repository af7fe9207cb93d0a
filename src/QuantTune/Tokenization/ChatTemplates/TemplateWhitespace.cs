using System.Text;

namespace QuantTune.Tokenization.ChatTemplates;

/// <summary>
/// The whitespace rules transformers renders chat templates with, applied to the source before
/// it is tokenized: the one trailing newline dropped (Jinja's keep_trailing_newline=False),
/// <c>lstrip_blocks</c> (spaces and tabs before a <c>{%</c> or <c>{#</c> that starts a line
/// removed) and <c>trim_blocks</c> (the newline right after <c>%}</c> or <c>#}</c> removed).
/// Keeps, for each character left, the line it came from, so errors name the template's line.
/// </summary>
internal static class TemplateWhitespace
{
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

        // lstrip_blocks
        for (int i = 0; i < end; i++)
        {
            bool lineStart = i == 0 || source[i - 1] == '\n' || source[i - 1] == '\r';
            if (lineStart)
            {
                int j = i;
                while (j < end && (source[j] == ' ' || source[j] == '\t')) j++;
                if (j > i && j + 1 < end && source[j] == '{' && source[j + 1] is '#' or '%' or '-')
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
            if (c == '\n' && k >= 2 && source[kept[k - 1]] == '}' && source[kept[k - 2]] is '#' or '%' or '-')
            {
                continue;
            }
            text.Append(c);
            keptLines.Add(lines[kept[k]]);
        }
        return (text.ToString(), keptLines.ToArray());
    }
}
