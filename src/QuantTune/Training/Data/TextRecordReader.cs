using System.Text.Json;

namespace QuantTune.Training.Data;

/// <summary>
/// Reads <c>{"text": ...}</c> records (the Hugging Face datasets layout for plain text) from a JSON array
/// or JSON Lines. Each record needs a non-empty string <c>text</c>; other fields are ignored.
/// </summary>
internal static class TextRecordReader
{
    public const string Expected = "{\"text\"} objects";

    /// <summary>Records with a <c>text</c> field and no <c>instruction</c> are text; anything else is read as instructions.</summary>
    public static bool LooksLikeText(JsonElement record) =>
        record.ValueKind == JsonValueKind.Object && record.TryGetProperty("text", out _) && !record.TryGetProperty("instruction", out _);

    public static List<TextRecord> Read(string path, ProblemLog log) => JsonRecordReader.ReadRecords(path, log, Expected, Parse);

    /// <summary>The record, or null after reporting what is wrong with it.</summary>
    public static TextRecord? Parse(JsonRecord json, ProblemLog log)
    {
        if (json.Element.ValueKind != JsonValueKind.Object)
        {
            log.Report(json.Line, $"{json.Where}is a JSON {JsonRecordReader.Kind(json.Element)}; expected an object with \"text\"");
            return null;
        }

        string? text = JsonRecordReader.RequiredString(json, "text", log);
        if (text is null)
        {
            return null;
        }

        if (text.Length == 0)
        {
            log.Report(json.Line, $"{json.Where}field 'text' is empty; expected some text");
            return null;
        }

        return new TextRecord(text, json.Line);
    }
}
