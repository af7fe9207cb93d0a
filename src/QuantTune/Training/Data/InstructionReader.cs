using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Training.Data;

/// <summary>
/// Reads Alpaca-style records from a JSON array or from JSON Lines (one object per line), told apart
/// by the first character. Each record needs a string <c>instruction</c> and <c>output</c>; <c>input</c>
/// is optional (string or null). A bad record is reported with its line (JSON Lines) or its element
/// index and the line it starts on (JSON array).
/// </summary>
internal static class InstructionReader
{
    public static List<InstructionRecord> Read(string path, ProblemLog log)
    {
        byte[] bytes = DataFile.ReadBytes(path);
        int first = bytes.AsSpan().IndexOfAnyExcept(" \t\r\n"u8);
        if (first < 0)
        {
            throw new InvalidFormatException(path, null, "is empty; expected a JSON array or JSON Lines of {\"instruction\", \"input\", \"output\"} objects");
        }

        return bytes[first] == (byte)'[' ? ReadArray(path, bytes, log) : ReadLines(bytes, log);
    }

    private static List<InstructionRecord> ReadLines(byte[] bytes, ProblemLog log)
    {
        var records = new List<InstructionRecord>();
        int lineNumber = 0;
        int start = 0;
        while (start <= bytes.Length)
        {
            lineNumber++;
            int newline = bytes.AsSpan(start).IndexOf((byte)'\n');
            int end = newline < 0 ? bytes.Length : start + newline;
            ReadOnlyMemory<byte> line = bytes.AsMemory(start, end - start);
            start = end + 1;
            if (line.Span.IndexOfAnyExcept(" \t\r"u8) < 0)
            {
                continue; // blank lines (a trailing newline, spacing) are not records
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                log.Report(lineNumber, $"invalid JSON ({FirstSentence(e.Message)}); expected one JSON object per line");
                continue;
            }

            using (document)
            {
                if (Parse(document.RootElement, "", lineNumber, log) is InstructionRecord record)
                {
                    records.Add(record);
                }
            }
        }

        return records;
    }

    private static List<InstructionRecord> ReadArray(string path, byte[] bytes, ProblemLog log)
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
            var records = new List<InstructionRecord>();
            int index = 0;
            foreach (JsonElement element in document.RootElement.EnumerateArray())
            {
                if (Parse(element, $"element [{index}]: ", lines[index], log) is InstructionRecord record)
                {
                    records.Add(record);
                }

                index++;
            }

            return records;
        }
    }

    private static InstructionRecord? Parse(JsonElement element, string where, int line, ProblemLog log)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            log.Report(line, $"{where}is a JSON {element.ValueKind.ToString().ToLowerInvariant()}; expected an object with \"instruction\" and \"output\"");
            return null;
        }

        string? instruction = RequiredString(element, "instruction", where, line, log);
        if (instruction is null)
        {
            return null;
        }

        string? output = RequiredString(element, "output", where, line, log);
        if (output is null)
        {
            return null;
        }

        string? input = null;
        if (element.TryGetProperty("input", out JsonElement inputElement))
        {
            if (inputElement.ValueKind == JsonValueKind.String)
            {
                input = inputElement.GetString();
            }
            else if (inputElement.ValueKind != JsonValueKind.Null)
            {
                log.Report(line, $"{where}field 'input' is a JSON {inputElement.ValueKind.ToString().ToLowerInvariant()}; expected a string or null");
                return null;
            }
        }

        return new InstructionRecord(instruction, input, output, line);
    }

    private static string? RequiredString(JsonElement element, string name, string where, int line, ProblemLog log)
    {
        if (!element.TryGetProperty(name, out JsonElement value))
        {
            log.Report(line, $"{where}missing field '{name}'; expected a string");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            log.Report(line, $"{where}field '{name}' is a JSON {value.ValueKind.ToString().ToLowerInvariant()}; expected a string");
            return null;
        }

        return value.GetString();
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
