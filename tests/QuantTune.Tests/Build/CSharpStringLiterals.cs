namespace QuantTune.Tests.Build;

/// <summary>
/// The string literals of C# source, with the line each starts on: regular, verbatim (<c>@"…"</c>),
/// interpolated (<c>$"…"</c>, the text outside its holes; a hole's own literals are read as code) and
/// raw (<c>"""…"""</c>) strings. Comments and character literals are skipped.
/// </summary>
public static class CSharpStringLiterals
{
    public sealed record Literal(int Line, string Text);

    public static List<Literal> Of(string source)
    {
        var found = new List<Literal>();
        int i = 0;
        Code(source, ref i, found, insideHole: false);
        return found;
    }

    static int LineAt(string s, int index)
    {
        int line = 1;
        for (int k = 0; k < index; k++) if (s[k] == '\n') line++;
        return line;
    }

    /// <summary>Reads code up to the end, or (in an interpolation hole) to its closing brace.</summary>
    static void Code(string s, ref int i, List<Literal> found, bool insideHole)
    {
        int depth = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (c == '/' && i + 1 < s.Length && s[i + 1] == '/') { while (i < s.Length && s[i] != '\n') i++; continue; }
            if (c == '/' && i + 1 < s.Length && s[i + 1] == '*')
            {
                int end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? s.Length : end + 2;
                continue;
            }
            if (c == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'') i += s[i] == '\\' ? 2 : 1;
                i++;
                continue;
            }
            if (c == '"')
            {
                int p = i - 1;
                bool verbatim = false, interpolated = false;
                while (p >= 0 && s[p] is '@' or '$') { verbatim |= s[p] == '@'; interpolated |= s[p] == '$'; p--; }
                String(s, ref i, found, verbatim, interpolated);
                continue;
            }
            if (insideHole)
            {
                if (c is '{' or '(' or '[') depth++;
                else if (c is ')' or ']') depth--;
                else if (c == '}') { if (depth == 0) { i++; return; } depth--; }
            }
            i++;
        }
    }

    static void String(string s, ref int i, List<Literal> found, bool verbatim, bool interpolated)
    {
        int start = i, quotes = 0;
        while (start + quotes < s.Length && s[start + quotes] == '"') quotes++;
        if (quotes >= 3)
        {
            // Raw string: ends at the next run of as many quotes; its text is taken whole.
            string fence = new('"', quotes);
            int end = s.IndexOf(fence, start + quotes, StringComparison.Ordinal);
            if (end < 0) end = s.Length;
            found.Add(new Literal(LineAt(s, start), s[(start + quotes)..end]));
            i = Math.Min(s.Length, end + quotes);
            return;
        }
        i++;
        var text = new System.Text.StringBuilder();
        while (i < s.Length)
        {
            char c = s[i];
            if (verbatim && c == '"' && i + 1 < s.Length && s[i + 1] == '"') { text.Append('"'); i += 2; continue; }
            if (c == '"') { i++; break; }
            if (!verbatim && c == '\\') { text.Append(s, i, Math.Min(2, s.Length - i)); i += 2; continue; }
            if (interpolated && c == '}' && i + 1 < s.Length && s[i + 1] == '}') { text.Append('}'); i += 2; continue; }
            if (interpolated && c == '{')
            {
                if (i + 1 < s.Length && s[i + 1] == '{') { text.Append('{'); i += 2; continue; }
                i++;
                text.Append('\u0000'); // a hole: its text is code, not part of this literal
                Code(s, ref i, found, insideHole: true);
                continue;
            }
            text.Append(c);
            i++;
        }
        found.Add(new Literal(LineAt(s, start), text.ToString()));
    }
}
