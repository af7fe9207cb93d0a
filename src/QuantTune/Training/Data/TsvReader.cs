using QuantTune.Diagnostics;

namespace QuantTune.Training.Data;

/// <summary>
/// Reads a classification TSV in the GLUE layout: a header line naming the columns, then one row per
/// line, fields separated by tabs, no quoting. Columns are found by header name, so extra columns and
/// any column order are fine.
/// </summary>
internal static class TsvReader
{
    public static List<ClassificationRecord> Read(string path, ClassificationOptions options, ProblemLog log)
    {
        string[] lines = DataFile.ReadText(path).Split('\n');
        string[] header = lines[0].TrimEnd('\r').Split('\t');
        int textColumn = Column(path, header, options.TextColumn);
        int labelColumn = Column(path, header, options.LabelColumn);
        var labels = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < options.LabelWords.Count; i++)
        {
            labels[options.LabelWords[i].Key] = i;
        }

        var records = new List<ClassificationRecord>();
        for (int i = 1; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
            {
                continue; // the trailing newline, or spacing; not a row
            }

            string[] fields = line.Split('\t');
            if (fields.Length != header.Length)
            {
                log.Report(lineNumber, $"has {fields.Length} tab-separated column(s); expected {header.Length} as in the header ({string.Join(", ", header)})");
                continue;
            }

            string value = fields[labelColumn].Trim();
            if (!labels.TryGetValue(value, out int labelIndex))
            {
                log.Report(lineNumber, $"column '{options.LabelColumn}': unknown label '{value}'; expected one of {string.Join(", ", labels.Keys)}");
                continue;
            }

            records.Add(new ClassificationRecord(fields[textColumn].Trim(), labelIndex, lineNumber));
        }

        return records;
    }

    private static int Column(string path, string[] header, string name)
    {
        int index = Array.IndexOf(header, name);
        if (index < 0)
        {
            throw new InvalidFormatException(path, name,
                $"line 1: the header has no column '{name}' (columns: {string.Join(", ", header)}); expected a tab-separated header line");
        }

        return index;
    }
}
