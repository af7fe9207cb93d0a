using QuantTune.Diagnostics;

namespace QuantTune.Evaluation.MultipleChoice;

/// <summary>One four-choice question; <see cref="Answer"/> is 0–3 (A–D).</summary>
public sealed record MmluQuestion(string Subject, string Question, string[] Choices, int Answer, string File, int Line)
{
    public static readonly string[] Letters = ["A", "B", "C", "D"];

    /// <summary>
    /// Reads a CSV file, or every *.csv of a folder: with a header
    /// <c>question,choice0,choice1,choice2,choice3,answer</c> (answer 0–3), or the original MMLU
    /// layout without header (answer A–D). The subject is the file name without _dev/_test/_val.
    /// </summary>
    public static List<MmluQuestion> Load(string path)
    {
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.csv").Order(StringComparer.Ordinal).ToArray()
            : System.IO.File.Exists(path) ? [path] : throw new QuantTuneException($"{path}: no such file or folder; expected MMLU CSV files");
        if (files.Length == 0) throw new QuantTuneException($"{path}: the folder has no .csv file");
        var result = new List<MmluQuestion>();
        foreach (var file in files)
        {
            var subject = Path.GetFileNameWithoutExtension(file);
            foreach (var suffix in new[] { "_dev", "_test", "_val" })
                if (subject.EndsWith(suffix)) subject = subject[..^suffix.Length];
            subject = subject.Replace('_', ' ');
            foreach (var (line, fields) in CsvReader.Read(System.IO.File.ReadAllText(file)))
            {
                if (line == 1 && fields.Count > 0 && fields[0] == "question") continue;
                if (fields.Count != 6)
                    throw new InvalidFormatException(file, $"line {line}", $"has {fields.Count} fields; expected 6 (question, four choices, answer)");
                var a = fields[5].Trim();
                int answer = a switch
                {
                    "A" or "0" => 0,
                    "B" or "1" => 1,
                    "C" or "2" => 2,
                    "D" or "3" => 3,
                    _ => throw new InvalidFormatException(file, $"line {line}", $"answer '{a}'; expected 0–3 or A–D"),
                };
                result.Add(new MmluQuestion(subject, fields[0], fields[1..5].ToArray(), answer, file, line));
            }
        }
        return result;
    }

    /// <summary>The question block: question, the lettered choices, and "Answer:" (plus the answer for few-shot examples).</summary>
    public string Format(bool withAnswer)
    {
        var text = Question + "\n" + string.Concat(Choices.Select((c, i) => $"{Letters[i]}. {c}\n")) + "Answer:";
        return withAnswer ? text + " " + Letters[Answer] + "\n\n" : text;
    }
}
