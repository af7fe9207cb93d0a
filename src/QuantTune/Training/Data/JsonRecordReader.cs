using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Training.Data;

/// <summary>One value of a JSON record file, detached from its document, with where it was found.</summary>
/// <param name="Where">"" for JSON Lines, "element [i]: " for a JSON array, to start messages with.</param>
/// <param name="Line">1-based line where the value starts.</param>
internal sealed record JsonRecord(JsonElement Element, string Where, int Line);

/// <summary>
/// Reads the values of a JSON array or of JSON Lines (one value per line), told apart by the first
/// character, for the record readers (instructions, text). A line that is not JSON goes to the
/// <see cref="ProblemLog"/>; a JSON array that does not parse stops loading, since it cannot be read past the error.
/// </summary>
internal static class JsonRecordReader
{
    /// <param name="expected">What the records should be, for messages: <c>{"text"} objects</c>.</param>
    public static List<JsonRecord> Read(string path, ProblemLog log, string expected)
    {
        byte[] bytes = DataFile.ReadBytes(path);
        int first = bytes.AsSpan().IndexOfAnyExcept(" \t\r\n"u8);
        if (first < 0)
        {
            throw new InvalidFormatException(path, null, $"is empty; expected a JSON array or JSON Lines of {expected}");
        }

        return bytes[first] == (byte)'[' ? ReadArray(path, bytes) : ReadLines(bytes, log);
    }

    /// <summary>The records that <paramref name="parse"/> accepts; it reports each one it refuses to the log and returns null.</summary>
    public static List<T> ReadRecords<T>(string path, ProblemLog log, string expected, Func<JsonRecord, ProblemLog, T?> parse) where T : class
    {
        var records = new List<T>();
        foreach (JsonRecord json in Read(path, log, expected))
        {
            if (parse(json, log) is T record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>The first record of the file, or null when there is none or it does not parse (the loader then reports it).</summary>
    public static JsonElement? First(string path)
    {
        byte[] bytes = DataFile.ReadBytes(path);
        int first = bytes.AsSpan().IndexOfAnyExcept(" \t\r\n"u8);
        if (first < 0)
        {
            return null;
        }

        try
        {
            if (bytes[first] == (byte)'[')
            {
                var reader = new Utf8JsonReader(bytes.AsSpan(first));
                reader.Read(); // StartArray
                if (!reader.Read() || reader.TokenType == JsonTokenType.EndArray)
                {
                    return null;
                }

                using var element = JsonDocument.ParseValue(ref reader);
                return element.RootElement.Clone();
            }

            foreach (var (line, _) in Lines(bytes))
            {
                using var document = JsonDocument.Parse(line);
                return document.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    /// <summary>A required string field, or null after reporting it missing or of another type.</summary>
    public static string? RequiredString(JsonRecord record, string name, ProblemLog log)
    {
        if (!record.Element.TryGetProperty(name, out JsonElement value))
        {
            log.Report(record.Line, $"{record.Where}missing field '{name}'; expected a string");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            log.Report(record.Line, $"{record.Where}field '{name}' is a JSON {Kind(value)}; expected a string");
            return null;
        }

        return value.GetString();
    }

    /// <summary>"object", "string", "number", ... as messages name a JSON value's kind.</summary>
    public static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();

    private static IEnumerable<(ReadOnlyMemory<byte> Line, int Number)> Lines(byte[] bytes)
    {
        int lineNumber = 0;
        int start = 0;
        while (start <= bytes.Length)
        {
            lineNumber++;
            int newline = bytes.AsSpan(start).IndexOf((byte)'\n');
            int end = newline < 0 ? bytes.Length : start + newline;
            ReadOnlyMemory<byte> line = bytes.AsMemory(start, end - start);
            start = end + 1;
            if (line.Span.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                yield return (line, lineNumber); // blank lines (a trailing newline, spacing) are not records
            }
        }
    }

    private static List<JsonRecord> ReadLines(byte[] bytes, ProblemLog log)
    {
        var records = new List<JsonRecord>();
        foreach (var (line, number) in Lines(bytes))
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                records.Add(new JsonRecord(document.RootElement.Clone(), "", number));
            }
            catch (JsonException e)
            {
                log.Report(number, $"invalid JSON ({FirstSentence(e.Message)}); expected one JSON object per line");
            }
        }

        return records;
    }

    private static List<JsonRecord> ReadArray(string path, byte[] bytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            // A broken array cannot be read past the error, so this stops loading even when skipping bad records.
            long line = (e.LineNumber ?? 0) + 1;
            throw new InvalidFormatException(path, null, $"line {line}: invalid JSON ({FirstSentence(e.Message)}); expected a JSON array of objects", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidFormatException(path, null, "expected a JSON array of objects");
            }

            int[] lines = ElementLines(bytes);
            var records = new List<JsonRecord>();
            int index = 0;
            foreach (JsonElement element in document.RootElement.EnumerateArray())
            {
                records.Add(new JsonRecord(element.Clone(), $"element [{index}]: ", lines[index]));
                index++;
            }

            return records;
        }
    }

    /// <summary>The 1-based line on which each top-level array element starts (the document is known to be valid).</summary>
    private static int[] ElementLines(byte[] bytes)
    {
        var lines = new List<int>();
        var reader = new Utf8JsonReader(bytes);
        reader.Read(); // StartArray
        int line = 1;
        long counted = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            long at = reader.TokenStartIndex;
            line += bytes.AsSpan((int)counted, (int)(at - counted)).Count((byte)'\n');
            counted = at;
            lines.Add(line);
            reader.Skip();
        }

        return [.. lines];
    }

    /// <summary>System.Text.Json's messages end with a hint about its own options; the first sentence is the problem.</summary>
    private static string FirstSentence(string message)
    {
        int stop = message.IndexOf(". ", StringComparison.Ordinal);
        return (stop < 0 ? message : message[..stop]).TrimEnd('.');
    }
}
