using System.Text.Json;

namespace QuantTune.Training.Data;

/// <summary>
/// Reads Alpaca-style records from a JSON array or from JSON Lines (one object per line), told apart
/// by the first character. Each record needs a string <c>instruction</c> and <c>output</c>; <c>input</c>
/// is optional (string or null). A bad record is reported with its line (JSON Lines) or its element
/// index and the line it starts on (JSON array).
/// </summary>
internal static class InstructionReader
{
    public const string Expected = "{\"instruction\", \"input\", \"output\"} objects";

    public static List<InstructionRecord> Read(string path, ProblemLog log) => JsonRecordReader.ReadRecords(path, log, Expected, Parse);

    /// <summary>The record, or null after reporting what is wrong with it.</summary>
    public static InstructionRecord? Parse(JsonRecord json, ProblemLog log)
    {
        JsonElement element = json.Element;
        if (element.ValueKind != JsonValueKind.Object)
        {
            log.Report(json.Line, $"{json.Where}is a JSON {JsonRecordReader.Kind(element)}; expected an object with \"instruction\" and \"output\"");
            return null;
        }

        string? instruction = JsonRecordReader.RequiredString(json, "instruction", log);
        if (instruction is null)
        {
            return null;
        }

        string? output = JsonRecordReader.RequiredString(json, "output", log);
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
                log.Report(json.Line, $"{json.Where}field 'input' is a JSON {JsonRecordReader.Kind(inputElement)}; expected a string or null");
                return null;
            }
        }

        return new InstructionRecord(instruction, input, output, json.Line);
    }
}
