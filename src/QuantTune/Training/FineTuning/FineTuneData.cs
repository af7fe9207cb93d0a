using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using QuantTune.Training.Data;

namespace QuantTune.Training.FineTuning;

/// <summary>
/// Training and held-out examples: from <see cref="FineTuneRequest.EvalDataFile"/> when given (all of the
/// data file trains), else split off the end of the data file, in file order: the last
/// <see cref="FineTuneRequest.EvalFraction"/> of a plain text's tokens, or of its records (at least one).
/// At most <see cref="FineTuneRequest.MaxEvalExamples"/> held-out examples are kept.
/// </summary>
/// <param name="Dropped">Per file, the well-formed records left out (too long), when any were.</param>
/// <param name="ChatTemplate">For chat data, where its template came from (the model, a file, or a built-in one).</param>
public sealed record FineTuneData(IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> Eval, IReadOnlyList<DataProblem> Problems, string Format,
    IReadOnlyList<DroppedRecords> Dropped, string? ChatTemplate = null)
{
    public static FineTuneData Load(FineTuneRequest r, HfTokenizer tokenizer)
    {
        var data = FineTuneFile.Load(r.DataFile, r, tokenizer, "FineTuneRequest.DataFile");
        if (r.EvalDataFile is null)
        {
            var (train, eval) = Split(data, r);
            return new FineTuneData(train, eval.Take(r.MaxEvalExamples).ToList(), data.Problems, data.Format, Drops(data), data.ChatTemplate);
        }

        var held = FineTuneFile.Load(r.EvalDataFile, r, tokenizer, "FineTuneRequest.EvalDataFile");
        var trainExamples = data.Examples;
        if (trainExamples.Count < 1) throw new QuantTuneException($"{r.DataFile}: no usable example (FineTuneRequest.DataFile); fine-tuning needs at least 1{Why(data)}");
        var evalExamples = held.Examples;
        if (evalExamples.Count < 1) throw new QuantTuneException($"{r.EvalDataFile}: no usable example (FineTuneRequest.EvalDataFile); evaluation needs at least 1{Why(held)}");
        return new FineTuneData(trainExamples, evalExamples.Take(r.MaxEvalExamples).ToList(), [.. data.Problems, .. held.Problems], data.Format, Drops(data, held), data.ChatTemplate);
    }

    static (IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> Eval) Split(FineTuneFile data, FineTuneRequest r)
    {
        if (data.Stream is { } stream)
        {
            var (train, eval) = stream.Split(1 - r.EvalFraction);
            return (train.Examples, eval.Examples);
        }

        var records = data.Records;
        if (records.Count < 2) throw new QuantTuneException($"{r.DataFile}: {records.Count} usable record(s); fine-tuning needs at least 2 (or held-out data from FineTuneRequest.EvalDataFile){Why(data)}");
        int evalCount = Math.Clamp((int)Math.Round(records.Count * r.EvalFraction), 1, records.Count - 1);
        return ([.. records.Take(records.Count - evalCount).SelectMany(x => x)], [.. records.Skip(records.Count - evalCount).SelectMany(x => x)]);
    }

    static string Why(FineTuneFile file) => file.Dropped is { } d ? $" ({d.Count} of {d.Total} records {d.Action}: {d.Reason})" : "";

    static List<DroppedRecords> Drops(params FineTuneFile[] files) => [.. files.Select(f => f.Dropped).OfType<DroppedRecords>()];
}
