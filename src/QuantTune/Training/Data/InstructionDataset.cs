using QuantTune.Tokenization;

namespace QuantTune.Training.Data;

/// <summary>
/// Alpaca-style instruction data (JSON array or JSON Lines) as training examples: the prompt from
/// <see cref="InstructionOptions.Template"/>, then the output and EOS. The loss is on the output and EOS
/// only; the model is not trained to reproduce the template or the instruction.
/// </summary>
public sealed class InstructionDataset
{
    private InstructionDataset(List<TokenizedExample> examples, List<InstructionRecord> tooLong, IReadOnlyList<DataProblem> problems)
    {
        Examples = examples;
        TooLong = tooLong;
        Problems = problems;
    }

    public IReadOnlyList<TokenizedExample> Examples { get; }

    /// <summary>Records left out because their prompt alone reaches <see cref="InstructionOptions.MaxLength"/>.</summary>
    public IReadOnlyList<InstructionRecord> TooLong { get; }

    /// <summary>Bad records that were skipped (empty unless loaded with <c>skipBadLines</c>).</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    /// <exception cref="DataRecordException">A bad record, when <paramref name="skipBadLines"/> is false.</exception>
    /// <exception cref="QuantTune.Diagnostics.InvalidFormatException">The file is not UTF-8, empty, or a JSON array that does not parse.</exception>
    public static InstructionDataset Load(string path, HfTokenizer tokenizer, InstructionOptions? options = null, bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new InstructionOptions();
        if (options.MaxLength < 1)
        {
            throw new Diagnostics.QuantTuneException($"max length {options.MaxLength}: expected a positive number of tokens");
        }

        var log = new ProblemLog(path, skipBadLines);
        var examples = new List<TokenizedExample>();
        var tooLong = new List<InstructionRecord>();
        foreach (InstructionRecord record in InstructionReader.Read(path, log))
        {
            TokenizedExample? example = Tokenize(record, tokenizer, options);
            if (example is null)
            {
                tooLong.Add(record);
            }
            else
            {
                examples.Add(example);
            }
        }

        return new InstructionDataset(examples, tooLong, log.Problems);
    }

    /// <summary>One record as an example, or null when its prompt leaves no room for the output.</summary>
    public static TokenizedExample? Tokenize(InstructionRecord record, HfTokenizer tokenizer, InstructionOptions options)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        string prompt = options.Template.Format(record.Instruction, record.Input);
        return PromptCompletion.Build(tokenizer, prompt, record.Output, options.AddBos ?? true, options.AddEos, options.MaxLength);
    }
}
