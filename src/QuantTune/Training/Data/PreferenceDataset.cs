using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Training.Data;

/// <summary>
/// A preference file (see <see cref="PreferenceReader"/>) tokenized as TRL's trainers tokenize it. Standard form:
/// the prompt with the tokenizer's special tokens (BOS), each completion without them and with EOS appended
/// unless it already ends with it. Conversational form: the prompt rendered with the model's chat template and
/// the generation prompt, each completion the rest of the render of prompt + completion (the prompt being the
/// text the renders share, as TRL's <c>apply_chat_template</c> takes it), tokenized without special tokens
/// since the template writes them. Prompt tokens carry no loss. Too-long examples are cut (<see cref="PreferenceOptions"/>).
/// </summary>
public sealed class PreferenceDataset
{
    PreferenceDataset(List<PreferencePair> pairs, List<UnpairedCompletion> unpaired, int records, bool conversational, List<int> dropped, IReadOnlyList<DataProblem> problems)
    {
        Pairs = pairs;
        Unpaired = unpaired;
        Records = records;
        Conversational = conversational;
        Dropped = dropped;
        Problems = problems;
    }

    /// <summary>The paired records (DPO, IPO, ORPO, SimPO).</summary>
    public IReadOnlyList<PreferencePair> Pairs { get; }

    /// <summary>The unpaired records (KTO).</summary>
    public IReadOnlyList<UnpairedCompletion> Unpaired { get; }

    /// <summary>Well-formed records read.</summary>
    public int Records { get; }

    /// <summary>Whether the records were messages rendered with the chat template.</summary>
    public bool Conversational { get; }

    /// <summary>Lines of the records left out because the prompt alone filled <see cref="PreferenceOptions.MaxLength"/>, or no completion token was left.</summary>
    public IReadOnlyList<int> Dropped { get; }

    public IReadOnlyList<DataProblem> Problems { get; }

    /// <summary>
    /// Every example as unpaired completions, as TRL's <c>unpair_preference_dataset</c> makes KTO data of pairs: each
    /// pair gives its chosen completion (desirable) and its rejected one (undesirable).
    /// </summary>
    public IReadOnlyList<UnpairedCompletion> AsUnpaired() =>
        [.. Unpaired, .. Pairs.SelectMany(p => new[] { new UnpairedCompletion(p.Prompt, p.Chosen, true, p.Line), new UnpairedCompletion(p.Prompt, p.Rejected, false, p.Line) })];

    /// <param name="template">The chat template conversational records are rendered with (null: such records are refused).</param>
    public static PreferenceDataset Load(string path, HfTokenizer tokenizer, ModelChatTemplate? template, PreferenceOptions options, bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        options.Validate();
        var log = new ProblemLog(path, skipBadLines);
        var records = PreferenceReader.Read(path, log);
        var pairs = new List<PreferencePair>();
        var unpaired = new List<UnpairedCompletion>();
        var dropped = new List<int>();
        bool conversational = records.Count > 0 && records[0].Conversational;
        foreach (var record in records)
        {
            if (record.Conversational && template is null)
            {
                log.Report(record.Line, "field 'prompt': messages need a chat template, and none was given");
                continue;
            }
            List<int[]>? tokens;
            try { tokens = Tokenize(record, tokenizer, template); }
            catch (ChatTemplateException e)
            {
                log.Report(record.Line, $"field '{(record.Rejected is null ? "completion" : "chosen")}': {e.Message}");
                continue;
            }
            var first = options.Cut(tokens[0], tokens[1]);
            var second = record.Rejected is null ? first : options.Cut(tokens[0], tokens[2]);
            if (first is not { } a || second is not { } b)
            {
                dropped.Add(record.Line);
                continue;
            }
            if (record.Rejected is null) unpaired.Add(new UnpairedCompletion(a.Prompt, a.Completion, record.Desirable!.Value, record.Line));
            // Both completions follow the same prompt: cut to the same (the prompt's cut depends on it alone).
            else pairs.Add(new PreferencePair(a.Prompt, a.Completion, b.Completion, record.Line));
        }
        return new PreferenceDataset(pairs, unpaired, records.Count, conversational, dropped, log.Problems);
    }

    /// <summary>[prompt ids, first completion's ids, (second completion's ids)].</summary>
    static List<int[]> Tokenize(PreferenceRecord record, HfTokenizer tokenizer, ModelChatTemplate? template)
    {
        var completions = record.Rejected is null ? new[] { record.Chosen } : [record.Chosen, record.Rejected];
        if (!record.Conversational)
        {
            var prompt = tokenizer.Encode(record.Prompt.GetValue<string>(), addSpecialTokens: true).ToArray();
            var result = new List<int[]> { prompt };
            foreach (var completion in completions)
            {
                var ids = tokenizer.Encode(completion.GetValue<string>()).ToList();
                if (tokenizer.EosId is int eos && (ids.Count == 0 || ids[^1] != eos)) ids.Add(eos);
                result.Add([.. ids]);
            }
            return result;
        }
        var messages = (JsonArray)record.Prompt;
        string promptText = template!.Template.Render(Clone(messages), template.Inputs(addGenerationPrompt: true));
        var full = completions.Select(c => template.Template.Render(Clone(messages, (JsonArray)c), template.Inputs(addGenerationPrompt: false))).ToList();
        // The prompt is what the prompt's render shares with every full render (TRL: a template such as DeepSeek-R1's
        // writes a generation prompt that the full render does not).
        int shared = promptText.Length;
        foreach (var f in full) shared = Math.Min(shared, Common(promptText, f));
        string promptPart = promptText[..shared];
        return [[.. tokenizer.Encode(promptPart)], .. full.Select(f => tokenizer.Encode(f[shared..]).ToArray())];
    }

    static JsonArray Clone(params JsonArray[] parts) => new([.. parts.SelectMany(p => p).Select(m => m!.DeepClone())]);

    static int Common(string a, string b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }
}
