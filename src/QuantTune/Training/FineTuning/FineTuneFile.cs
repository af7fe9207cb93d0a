using QuantTune.Diagnostics;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Data;

namespace QuantTune.Training.FineTuning;

/// <summary>
/// One data file of a fine-tuning run, read in its format: plain text as one token stream
/// (<see cref="Stream"/>), or records, each giving one example or, for <c>{"text"}</c> records, several windows.
/// </summary>
internal sealed record FineTuneFile(string Path, string Format, TextDataset? Stream, IReadOnlyList<IReadOnlyList<TokenizedExample>> Records,
    IReadOnlyList<DataProblem> Problems, DroppedRecords? Dropped, string? ChatTemplate = null)
{
    public const string Formats = "text, alpaca, chat or tsv";

    public IReadOnlyList<TokenizedExample> Examples => Stream?.Examples ?? [.. Records.SelectMany(r => r)];

    public static FineTuneFile Load(string path, FineTuneRequest r, HfTokenizer tokenizer, string setting)
    {
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: data file not found ({setting})");
        string extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        bool json = extension is ".json" or ".jsonl";
        string format = (r.Format ?? extension switch
        {
            ".txt" or ".raw" => "text",
            ".json" or ".jsonl" => JsonRecordReader.First(path) is { } first
                ? ConversationReader.LooksLikeConversation(first) ? "chat" : TextRecordReader.LooksLikeText(first) ? "text" : "alpaca"
                : "alpaca",
            ".tsv" => "tsv",
            var e => throw new InvalidSettingException("FineTuneRequest.Format", null, $"{path}: cannot tell the format from the extension '{e}'; give one of {Formats}"),
        }).Trim().ToLowerInvariant();
        string tooLong = $"prompt longer than FineTuneRequest.SequenceLength {r.SequenceLength} tokens, leaving no room for the output";
        switch (format)
        {
            case "text" when json:
            {
                var set = TextRecordDataset.Load(path, tokenizer, r.SequenceLength, r.SkipBadLines);
                return new FineTuneFile(path, format, null, set.Records, set.Problems, null);
            }
            case "text":
                return new FineTuneFile(path, format, TextDataset.FromFile(path, tokenizer, r.SequenceLength), [], [], null);
            case "alpaca":
            {
                var set = InstructionDataset.Load(path, tokenizer, new InstructionOptions { MaxLength = r.SequenceLength }, r.SkipBadLines);
                return new FineTuneFile(path, format, null, Singles(set.Examples), set.Problems,
                    DroppedRecords.Of(path, set.Examples.Count + set.TooLong.Count, tooLong, [.. set.TooLong.Select(x => x.Line)]));
            }
            case "chat":
            {
                var template = ModelChatTemplate.Load(r.ModelDirectory, r.ChatTemplate);
                var options = new ConversationOptions { MaxLength = r.SequenceLength, AssistantOnlyLoss = !r.LossOnWholeConversation, Truncate = r.TruncateLong, Pack = r.Pack };
                var set = ConversationDataset.Load(path, tokenizer, template, options, r.SkipBadLines);
                string reason = $"longer than FineTuneRequest.SequenceLength {r.SequenceLength} tokens" + (r.TruncateLong ? "" : " (set FineTuneRequest.TruncateLong to cut them instead)");
                return new FineTuneFile(path, format, null, Singles(set.Examples), set.Problems,
                    DroppedRecords.Of(path, set.Records, reason, set.OverLong, r.TruncateLong ? "truncated" : "dropped"), template.Origin);
            }
            case "tsv":
            {
                var set = ClassificationDataset.Load(path, tokenizer, new ClassificationOptions { MaxPromptLength = r.SequenceLength }, r.SkipBadLines);
                return new FineTuneFile(path, format, null, Singles(set.Examples), set.Problems,
                    DroppedRecords.Of(path, set.Examples.Count + set.TooLong.Count, $"prompt longer than FineTuneRequest.SequenceLength {r.SequenceLength} tokens", [.. set.TooLong.Select(x => x.Line)]));
            }
            default:
                throw new InvalidSettingException("FineTuneRequest.Format", format, $"expected {Formats}");
        }
    }

    static List<IReadOnlyList<TokenizedExample>> Singles(IReadOnlyList<TokenizedExample> examples) => [.. examples.Select(e => (IReadOnlyList<TokenizedExample>)[e])];
}
