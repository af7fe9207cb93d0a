namespace QuantTune.Evaluation.MultipleChoice;

/// <summary>RFC 4180 CSV: comma-separated fields, double-quoted fields may hold commas, quotes ("") and newlines.</summary>
public static class CsvReader
{
    /// <summary>Records with the (1-based) line each starts on.</summary>
    public static IEnumerable<(int Line, List<string> Fields)> Read(string text)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false, any = false;
        int line = 1, start = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else { if (c == '\n') line++; field.Append(c); }
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; any = true; break;
                case ',': fields.Add(field.ToString()); field.Clear(); any = true; break;
                case '\r': break;
                case '\n':
                    fields.Add(field.ToString());
                    if (any || fields.Count > 1 || fields[0].Length > 0) yield return (start, fields);
                    fields = new List<string>();
                    field.Clear();
                    any = false;
                    start = ++line;
                    break;
                default: field.Append(c); any = true; break;
            }
        }
        if (any || field.Length > 0)
        {
            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }
}
