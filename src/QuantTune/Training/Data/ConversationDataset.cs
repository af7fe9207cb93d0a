using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Training.Data;

/// <summary>
/// Conversations (see <see cref="ConversationReader"/>) rendered with the model's chat template
/// and tokenized as transformers does (the template writes BOS and the turn markers; no special
/// tokens are added). By default only the assistant turns carry the loss (<see cref="AssistantSpans"/>):
/// the text is tokenized piece by piece, assistant turns and the text between them, so every token
/// belongs to one side. Too-long conversations are dropped or truncated, and reported; with
/// <see cref="ConversationOptions.Pack"/> several conversations share one example.
/// </summary>
public sealed class ConversationDataset
{
    private ConversationDataset(List<TokenizedExample> examples, int records, List<int> overLong, IReadOnlyList<DataProblem> problems)
    {
        Examples = examples;
        Records = records;
        OverLong = overLong;
        Problems = problems;
    }

    public IReadOnlyList<TokenizedExample> Examples { get; }

    /// <summary>Well-formed conversations read.</summary>
    public int Records { get; }

    /// <summary>Lines of the conversations longer than the limit (dropped, or truncated with <see cref="ConversationOptions.Truncate"/>).</summary>
    public IReadOnlyList<int> OverLong { get; }

    public IReadOnlyList<DataProblem> Problems { get; }

    public static ConversationDataset Load(string path, HfTokenizer tokenizer, ModelChatTemplate template, ConversationOptions options, bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        if (options.MaxLength < 1) throw new QuantTuneException($"max length {options.MaxLength}: expected a positive number of tokens");
        var log = new ProblemLog(path, skipBadLines);
        var sequences = new List<(int[] Ids, bool[] Loss)>();
        var overLong = new List<int>();
        var records = ConversationReader.Read(path, log);
        foreach (ConversationRecord record in records)
        {
            (int[] ids, bool[] loss)? sequence;
            try
            {
                sequence = Tokenize(record, tokenizer, template, options.AssistantOnlyLoss);
            }
            catch (ChatTemplateException e)
            {
                log.Report(record.Line, $"field 'messages': {e.Message}");
                continue;
            }
            var (ids, lossMask) = sequence.Value;
            if (ids.Length > options.MaxLength + 1)
            {
                overLong.Add(record.Line);
                if (!options.Truncate) continue;
                ids = ids[..(options.MaxLength + 1)];
                lossMask = lossMask[..(options.MaxLength + 1)];
            }
            if (lossMask.Skip(1).Any(x => x)) sequences.Add((ids, lossMask));
        }

        var examples = options.Pack ? Packed(sequences, options.MaxLength + 1) : sequences;
        return new ConversationDataset([.. examples.Select(s => Example(s.Ids, s.Loss))], records.Count, overLong, log.Problems);
    }

    /// <summary>A conversation's token ids and, per token, whether it carries the loss.</summary>
    public static (int[] Ids, bool[] Loss) Tokenize(ConversationRecord record, HfTokenizer tokenizer, ModelChatTemplate template, bool assistantOnly)
    {
        var (text, spans) = AssistantSpans.Find(template, record.Messages);
        var ids = new List<int>();
        var loss = new List<bool>();
        int at = 0;
        void Piece(int end, bool trained)
        {
            if (end <= at) return;
            var pieceIds = tokenizer.Encode(text[at..end]);
            ids.AddRange(pieceIds);
            loss.AddRange(Enumerable.Repeat(trained || !assistantOnly, pieceIds.Count));
            at = end;
        }
        foreach (var (start, end) in spans)
        {
            Piece(start, false);
            Piece(end, true);
        }
        Piece(text.Length, false);
        return ([.. ids], [.. loss]);
    }

    /// <summary>Inputs are the ids but the last; label i is id i+1 where that token carries the loss.</summary>
    public static TokenizedExample Example(int[] ids, bool[] loss)
    {
        var labels = new int[ids.Length - 1];
        for (int i = 0; i < labels.Length; i++) labels[i] = loss[i + 1] ? ids[i + 1] : TokenizedExample.Ignore;
        return new TokenizedExample(ids[..^1], labels);
    }

    /// <summary>Whole conversations appended in order until the next would pass <paramref name="limit"/> tokens.</summary>
    private static List<(int[] Ids, bool[] Loss)> Packed(List<(int[] Ids, bool[] Loss)> sequences, int limit)
    {
        var packed = new List<(int[], bool[])>();
        var ids = new List<int>();
        var loss = new List<bool>();
        foreach (var (i, l) in sequences)
        {
            if (ids.Count + i.Length > limit && ids.Count > 0)
            {
                packed.Add(([.. ids], [.. loss]));
                ids.Clear();
                loss.Clear();
            }
            ids.AddRange(i);
            loss.AddRange(l);
        }
        if (ids.Count > 1) packed.Add(([.. ids], [.. loss]));
        return packed;
    }
}
