using System.Text.Json;
using QuantTune.Tests.Training.Data;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;

namespace QuantTune.Tests.Training.FineTuning;

public sealed class FineTuneDataTests : IDisposable
{
    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static FineTuneRequest Request(string data, int seq = 64, string? eval = null, string? format = null) => new()
    {
        ModelDirectory = TestData.TinyLlamaDir,
        DataFile = data,
        EvalDataFile = eval,
        Format = format,
        OutputDirectory = "unused",
        SequenceLength = seq,
    };

    private static string Alpaca(string instruction) => JsonSerializer.Serialize(new { instruction, input = "", output = "ok" });

    private static string Text(string text) => JsonSerializer.Serialize(new { text });

    [Fact]
    public void InstructionsWhosePromptIsLongerThanSeqAreCountedWithTheirLines()
    {
        string longer = string.Concat(Enumerable.Repeat("Say the word again. ", 30));
        string path = _files.Write("a.jsonl", string.Join('\n', Alpaca("Hi."), Alpaca(longer), Alpaca("Yes?"), Alpaca(longer), Alpaca("No.")));
        var data = FineTuneData.Load(Request(path), DataTestFiles.Tokenizer);

        DroppedRecords dropped = Assert.Single(data.Dropped);
        Assert.Equal((path, 2, 5), (dropped.File, dropped.Count, dropped.Total));
        Assert.Equal([2, 4], dropped.Lines);
        Assert.Equal(3, data.Train.Count + data.Eval.Count);
        Assert.Equal($"{path}: 2 of 5 records dropped: prompt longer than FineTuneRequest.SequenceLength 64 tokens, leaving no room for the output (lines 2, 4)", dropped.Message);
        Assert.Empty(FineTuneData.Load(Request(path, seq: 512), DataTestFiles.Tokenizer).Dropped);
    }

    [Fact]
    public void TsvRowsWhosePromptIsLongerThanSeqAreCounted()
    {
        string longer = string.Concat(Enumerable.Repeat("a very long review ", 20));
        string path = _files.Write("s.tsv", $"sentence\tlabel\ngood\t1\n{longer}\t0\nbad\t0\nfine\t1\n");
        DroppedRecords dropped = Assert.Single(FineTuneData.Load(Request(path, seq: 32), DataTestFiles.Tokenizer).Dropped);
        Assert.Equal((1, 4, 3), (dropped.Count, dropped.Total, dropped.Lines[0]));
        Assert.Contains("FineTuneRequest.SequenceLength 32", dropped.Reason);
    }

    [Fact]
    public void TextRecordsAreDetectedByTheirFieldsAndTrainOnEveryToken()
    {
        string path = _files.Write("t.jsonl", string.Join('\n', Enumerable.Range(0, 10).Select(i => Text($"Record number {i} has a few words in it."))));
        var data = FineTuneData.Load(Request(path, seq: 8), DataTestFiles.Tokenizer);
        Assert.Equal("text", data.Format);
        Assert.All(data.Train.Concat(data.Eval), e => Assert.DoesNotContain(TokenizedExample.Ignore, e.Labels));
        // The held-out part is the last record (10 %), whole: its windows start with BOS, the training ones hold records 0..8.
        var record9 = TextRecordDataset.Load(path, DataTestFiles.Tokenizer, 8).Records[9];
        Assert.Equal(record9.Select(e => e.InputIds), data.Eval.Select(e => e.InputIds));
        Assert.Equal(TextRecordDataset.Load(path, DataTestFiles.Tokenizer, 8).Records.Take(9).Sum(r => r.Count), data.Train.Count);
    }

    [Fact]
    public void FormatTextReadsTheTextFieldsOfAJsonFile()
    {
        // The first record has an instruction field too, so only --format text makes these text records.
        string path = _files.Write("t.json", "[" + string.Join(',', Enumerable.Range(0, 4).Select(i => $"{{\"text\": \"Text {i}.\", \"instruction\": \"\"}}")) + "]");
        Assert.Throws<DataRecordException>(() => FineTuneData.Load(Request(path), DataTestFiles.Tokenizer));
        var data = FineTuneData.Load(Request(path, format: "text"), DataTestFiles.Tokenizer);
        Assert.Equal([1, .. DataTestFiles.Tokenizer.Encode("Text 0."), 2], [data.Train[0].InputIds[0], .. data.Train[0].Labels]);
    }

    [Fact]
    public void EvalDataHoldsOutItsOwnFileAndAllOfTheDataTrains()
    {
        string train = _files.Write("train.jsonl", string.Join('\n', Enumerable.Range(0, 10).Select(i => Alpaca($"Question {i}?"))));
        string held = _files.Write("held.txt", string.Concat(Enumerable.Repeat("Some held-out prose, written plainly. ", 20)));
        var split = FineTuneData.Load(Request(train), DataTestFiles.Tokenizer);
        Assert.Equal((9, 1), (split.Train.Count, split.Eval.Count));

        var data = FineTuneData.Load(Request(train, eval: held), DataTestFiles.Tokenizer);
        Assert.Equal(10, data.Train.Count);
        Assert.Equal(TextDataset.FromFile(held, DataTestFiles.Tokenizer, 64).Examples.Select(e => e.InputIds), data.Eval.Select(e => e.InputIds));
        Assert.Contains("held.txt", Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(
            () => FineTuneData.Load(Request(train, eval: held + ".missing"), DataTestFiles.Tokenizer)).Message);
        // Every record too long: the refusal says why.
        Assert.Contains("10 of 10 records dropped: prompt longer than FineTuneRequest.SequenceLength 16", Assert.Throws<QuantTune.Diagnostics.QuantTuneException>(
            () => FineTuneData.Load(Request(train, seq: 16, eval: held), DataTestFiles.Tokenizer)).Message);
    }
}
