using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using QuantTune.Training.Data;

namespace QuantTune.Training.FineTuning;

/// <summary>Training and held-out examples from one data file, by format.</summary>
public sealed record FineTuneData(IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> Eval, IReadOnlyList<DataProblem> Problems, string Format)
{
    public static FineTuneData Load(FineTuneRequest r, HfTokenizer tokenizer)
    {
        if (!File.Exists(r.DataFile)) throw new QuantTuneException($"{r.DataFile}: data file not found");
        var format = (r.Format ?? Path.GetExtension(r.DataFile).ToLowerInvariant() switch
        {
            ".txt" or ".raw" => "text",
            ".json" or ".jsonl" => "alpaca",
            ".tsv" => "tsv",
            var e => throw new QuantTuneException($"{r.DataFile}: cannot tell the format from the extension '{e}'; pass --format text, alpaca or tsv"),
        }).ToLowerInvariant();
        switch (format)
        {
            case "text":
            {
                var all = TextDataset.FromFile(r.DataFile, tokenizer, r.SequenceLength);
                var (train, eval) = all.Split(1 - r.EvalFraction);
                return new FineTuneData(train.Examples, eval.Examples.Take(r.MaxEvalExamples).ToList(), [], format);
            }
            case "alpaca":
            {
                var set = InstructionDataset.Load(r.DataFile, tokenizer, new InstructionOptions { MaxLength = r.SequenceLength }, r.SkipBadLines);
                return Split(set.Examples, set.Problems, r, format);
            }
            case "tsv":
            {
                var set = ClassificationDataset.Load(r.DataFile, tokenizer, skipBadLines: r.SkipBadLines);
                return Split(set.Examples, set.Problems, r, format);
            }
            default:
                throw new QuantTuneException($"--format {format}: expected text, alpaca or tsv");
        }
    }

    static FineTuneData Split(IReadOnlyList<TokenizedExample> examples, IReadOnlyList<DataProblem> problems, FineTuneRequest r, string format)
    {
        if (examples.Count < 2) throw new QuantTuneException($"{r.DataFile}: {examples.Count} usable example(s); fine-tuning needs at least 2");
        int evalCount = Math.Clamp((int)Math.Round(examples.Count * r.EvalFraction), 1, examples.Count - 1);
        return new FineTuneData(examples.Take(examples.Count - evalCount).ToList(), examples.Skip(examples.Count - evalCount).Take(r.MaxEvalExamples).ToList(), problems, format);
    }
}
