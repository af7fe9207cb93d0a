using QuantTune.Diagnostics;
using QuantTune.Tokenization;

namespace QuantTune.Training.Data;

/// <summary>
/// A classification TSV (GLUE SST-2 layout) as a prompt-and-answer task: each row becomes the prompt
/// from <see cref="ClassificationOptions.Template"/> followed by its label word, with the loss on the
/// label word only. <see cref="Items"/> keeps the prompts apart for <see cref="ClassificationEvaluator"/>,
/// which asks the model which label word is likeliest.
/// </summary>
/// <remarks>Prompt and label word are tokenized separately (see <see cref="PromptCompletion"/>).</remarks>
public sealed class ClassificationDataset
{
    private ClassificationDataset(List<TokenizedExample> examples, List<ClassificationItem> items, int[][] labelWordIds,
        IReadOnlyList<string> labelValues, List<ClassificationRecord> tooLong, IReadOnlyList<DataProblem> problems)
    {
        Examples = examples;
        Items = items;
        LabelWordIds = labelWordIds;
        LabelValues = labelValues;
        TooLong = tooLong;
        Problems = problems;
    }

    /// <summary>Training examples, one per item, in file order.</summary>
    public IReadOnlyList<TokenizedExample> Examples { get; }

    public IReadOnlyList<ClassificationItem> Items { get; }

    /// <summary>Token ids of each label word, in the order of <see cref="ClassificationOptions.LabelWords"/>.</summary>
    public IReadOnlyList<int[]> LabelWordIds { get; }

    /// <summary>The label values as written in the file, in the same order.</summary>
    public IReadOnlyList<string> LabelValues { get; }

    /// <summary>Rows left out because their prompt is longer than <see cref="ClassificationOptions.MaxPromptLength"/>.</summary>
    public IReadOnlyList<ClassificationRecord> TooLong { get; }

    /// <summary>Bad rows that were skipped (empty unless loaded with <c>skipBadLines</c>).</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <exception cref="DataRecordException">A bad row, when <paramref name="skipBadLines"/> is false.</exception>
    /// <exception cref="InvalidFormatException">The header lacks a column, or the file is not UTF-8.</exception>
    public static ClassificationDataset Load(string path, HfTokenizer tokenizer, ClassificationOptions? options = null, bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new ClassificationOptions();
        if (options.LabelWords.Count < 2)
        {
            throw new QuantTuneException($"{options.LabelWords.Count} label word(s): expected at least 2 to choose between");
        }

        int[][] labelWordIds = [.. options.LabelWords.Select(pair => tokenizer.Encode(pair.Value).ToArray())];
        int empty = Array.FindIndex(labelWordIds, ids => ids.Length == 0);
        if (empty >= 0)
        {
            throw new QuantTuneException($"label '{options.LabelWords[empty].Key}': its word '{options.LabelWords[empty].Value}' has no tokens; expected a non-empty word");
        }

        var log = new ProblemLog(path, skipBadLines);
        var examples = new List<TokenizedExample>();
        var items = new List<ClassificationItem>();
        var tooLong = new List<ClassificationRecord>();
        foreach (ClassificationRecord record in TsvReader.Read(path, options, log))
        {
            int[] prompt = PromptIds(tokenizer, options, record.Text);
            if (prompt.Length > options.MaxPromptLength)
            {
                tooLong.Add(record);
                continue;
            }

            if (prompt.Length == 0)
            {
                log.Report(record.Line, "the prompt has no tokens (empty text, template without words, no BOS); expected something to condition on");
                continue;
            }

            int[] word = labelWordIds[record.LabelIndex];
            examples.Add(PromptCompletion.FromIds(prompt, word, prompt.Length + word.Length)!);
            items.Add(new ClassificationItem(prompt, record.LabelIndex, record.Line));
        }

        return new ClassificationDataset(examples, items, labelWordIds, [.. options.LabelWords.Select(p => p.Key)], tooLong, log.Problems);
    }

    /// <summary>[BOS] + the template with the text in it: what the model reads before the label word.</summary>
    public static int[] PromptIds(HfTokenizer tokenizer, ClassificationOptions options, string text)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        var ids = new List<int>();
        if ((options.AddBos ?? true) && tokenizer.BosId is int bos)
        {
            ids.Add(bos);
        }

        ids.AddRange(tokenizer.Encode(options.Template.Replace("{text}", text.Trim(), StringComparison.Ordinal)));
        return [.. ids];
    }
}
