using System.Text.Json;

namespace QuantTune.Training.Data;

/// <summary>
/// A data file as the text a model reads, for calibration (GPTQ, static activation ranges): a .json/.jsonl
/// file's records, one after another, each its <c>text</c> field or, for an Alpaca record, its prompt
/// (<see cref="PromptTemplate.Alpaca"/>) followed by its output, separated by a blank line; any other file as it is.
/// </summary>
public static class CorpusText
{
    /// <exception cref="DataRecordException">A record with neither a string <c>text</c> nor an Alpaca record's fields.</exception>
    /// <exception cref="QuantTune.Diagnostics.InvalidFormatException">The file is not UTF-8, empty JSON, or a JSON array that does not parse.</exception>
    public static string Read(string path)
    {
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".json" or ".jsonl"))
        {
            return DataFile.ReadText(path);
        }

        var log = new ProblemLog(path, skipBadLines: false);
        var texts = new List<string>();
        foreach (JsonRecord json in JsonRecordReader.Read(path, log, $"{TextRecordReader.Expected} or {InstructionReader.Expected}"))
        {
            // The log throws at the first bad record, so the parsers return a record here.
            JsonElement element = json.Element;
            if (TextRecordReader.LooksLikeText(element))
            {
                texts.Add(TextRecordReader.Parse(json, log)!.Text);
            }
            else if (element.ValueKind == JsonValueKind.Object && !element.TryGetProperty("instruction", out _))
            {
                log.Report(json.Line, $"{json.Where}missing field 'text' (or 'instruction' and 'output'); expected a string");
            }
            else
            {
                var record = InstructionReader.Parse(json, log)!;
                texts.Add(PromptTemplate.Alpaca.Format(record.Instruction, record.Input) + record.Output);
            }
        }

        return string.Join("\n\n", texts);
    }
}
