using QuantTune.Tokenization;

namespace QuantTune.Training.Data;

/// <summary>
/// <c>{"text": ...}</c> records (JSON array or JSON Lines) as language-modelling data, the loss on every
/// token as for a .txt file. Each record is tokenized as <c>[BOS] + text + [EOS]</c> and cut into
/// non-overlapping windows of <c>T + 1</c> tokens the way <see cref="TextDataset"/> cuts a file, so a long
/// record gives several examples and none of its tokens is lost; a window never spans two records.
/// </summary>
public sealed class TextRecordDataset
{
    private TextRecordDataset(List<IReadOnlyList<TokenizedExample>> records, IReadOnlyList<DataProblem> problems)
    {
        Records = records;
        Examples = [.. records.SelectMany(r => r)];
        Problems = problems;
    }

    /// <summary>Each record's windows, in file order (a held-out split takes whole records).</summary>
    public IReadOnlyList<IReadOnlyList<TokenizedExample>> Records { get; }

    public IReadOnlyList<TokenizedExample> Examples { get; }

    /// <summary>Bad records that were skipped (empty unless loaded with <c>skipBadLines</c>).</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <param name="addBos">Start each record with the tokenizer's BOS, if it has one.</param>
    /// <param name="addEos">End each record with the tokenizer's EOS, if it has one, so the model learns where a text ends.</param>
    /// <exception cref="DataRecordException">A bad record, when <paramref name="skipBadLines"/> is false.</exception>
    /// <exception cref="QuantTune.Diagnostics.InvalidFormatException">The file is not UTF-8, empty, or a JSON array that does not parse.</exception>
    public static TextRecordDataset Load(string path, HfTokenizer tokenizer, int sequenceLength, bool skipBadLines = false, bool addBos = true, bool addEos = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (sequenceLength < 1)
        {
            throw new Diagnostics.QuantTuneException($"sequence length {sequenceLength}: expected a positive number of tokens");
        }

        var log = new ProblemLog(path, skipBadLines);
        var records = new List<IReadOnlyList<TokenizedExample>>();
        foreach (TextRecord record in TextRecordReader.Read(path, log))
        {
            var tokens = new List<int>();
            if (addBos && tokenizer.BosId is int bos)
            {
                tokens.Add(bos);
            }

            tokens.AddRange(tokenizer.Encode(record.Text));
            if (addEos && tokenizer.EosId is int eos)
            {
                tokens.Add(eos);
            }

            if (tokens.Count < 2)
            {
                log.Report(record.Line, $"field 'text' gives {tokens.Count} token(s); expected at least 2 to predict one from the other");
                continue;
            }

            records.Add(TextDataset.FromTokens(tokens, sequenceLength).Examples);
        }

        return new TextRecordDataset(records, log.Problems);
    }
}
