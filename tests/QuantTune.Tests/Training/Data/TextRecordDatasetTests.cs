using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class TextRecordDatasetTests : IDisposable
{
    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static int[] Encode(string text) => [.. DataTestFiles.Tokenizer.Encode(text)];

    [Fact]
    public void EachRecordIsBosTextEosCutIntoWindowsWithTheLossOnEveryToken()
    {
        const string Long = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows.";
        string path = _files.Write("t.jsonl", $"{{\"text\": \"{Long}\", \"source\": \"hamlet\"}}\n\n{{\"text\": \"Short.\"}}\n");
        const int T = 8;
        var data = TextRecordDataset.Load(path, DataTestFiles.Tokenizer, T);

        Assert.Empty(data.Problems);
        Assert.Equal(2, data.Records.Count);
        int[][] streams = [[1, .. Encode(Long), 2], [1, .. Encode("Short."), 2]];
        for (int r = 0; r < 2; r++)
        {
            // Reference: windows of T + 1 tokens of this record alone; labels are the next tokens, none ignored.
            int[] s = streams[r];
            var windows = data.Records[r];
            int start = 0;
            foreach (TokenizedExample w in windows)
            {
                Assert.Equal(s[start..(start + w.Length)], w.InputIds);
                Assert.Equal(s[(start + 1)..(start + w.Length + 1)], w.Labels);
                Assert.DoesNotContain(TokenizedExample.Ignore, w.Labels);
                start += w.Length + 1;
            }

            Assert.InRange(s.Length - start, 0, 1); // every token but at most a lone last one is in a window
        }

        Assert.True(data.Records[0].Count > 1, "the long record gives several windows");
        Assert.Equal(data.Records.Sum(r => r.Count), data.Examples.Count);
    }

    [Fact]
    public void AJsonArrayOfTextRecordsLoadsLikeJsonLines()
    {
        string lines = _files.Write("t.jsonl", "{\"text\": \"one two\"}\n{\"text\": \"three\"}\n");
        string array = _files.Write("t.json", "[\n  {\"text\": \"one two\"},\n  {\"text\": \"three\"}\n]");
        var a = TextRecordDataset.Load(lines, DataTestFiles.Tokenizer, 16);
        var b = TextRecordDataset.Load(array, DataTestFiles.Tokenizer, 16);
        Assert.Equal(a.Examples.Select(e => e.InputIds), b.Examples.Select(e => e.InputIds));
    }

    [Theory]
    [InlineData("""{"txt": "typo"}""", "missing field 'text'")]
    [InlineData("""{"text": 5}""", "field 'text' is a JSON number")]
    [InlineData("""{"text": ""}""", "field 'text' is empty")]
    [InlineData("""{"text": "cut""", "invalid JSON")]
    [InlineData("""["text"]""", "expected an object with \"text\"")]
    public void ABadRecordIsNamedByFileLineAndFieldAndSkippedOnlyWhenAsked(string line, string expected)
    {
        string path = _files.Write("bad.jsonl", "{\"text\": \"fine\"}\n" + line + "\n{\"text\": \"also fine\"}\n");
        var e = Assert.Throws<DataRecordException>(() => TextRecordDataset.Load(path, DataTestFiles.Tokenizer, 16));
        Assert.Contains("bad.jsonl", e.Message);
        Assert.Contains("line 2", e.Message);
        Assert.Contains(expected, e.Message);

        var skipped = TextRecordDataset.Load(path, DataTestFiles.Tokenizer, 16, skipBadLines: true);
        Assert.Equal(2, skipped.Records.Count);
        Assert.Equal(2, Assert.Single(skipped.Problems).Line);
    }
}
