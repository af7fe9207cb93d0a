using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class TextDatasetTests : IDisposable
{
    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(100, 9)]   // 10 full windows of 10 tokens
    [InlineData(103, 9)]   // plus a 3-token tail
    [InlineData(101, 9)]   // a 1-token tail cannot predict anything
    [InlineData(5, 16)]    // shorter than one window
    public void WindowsCoverTheStreamOnceAndLabelsAreTheNextTokens(int count, int t)
    {
        int[] tokens = [.. Enumerable.Range(0, count).Select(i => (i * 7919) % 1000)];
        var data = TextDataset.FromTokens(tokens, t);

        // Naive reference: walk the stream in steps of t + 1.
        var expected = new List<(int[] In, int[] Lab)>();
        for (int s = 0; s + 1 < count; s += t + 1)
        {
            var inputs = new List<int>();
            var labels = new List<int>();
            for (int i = s; i < Math.Min(s + t, count - 1); i++)
            {
                inputs.Add(tokens[i]);
                labels.Add(tokens[i + 1]);
            }

            expected.Add((inputs.ToArray(), labels.ToArray()));
        }

        Assert.Equal(expected.Count, data.Examples.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            Assert.Equal(expected[k].In, data.Examples[k].InputIds);
            Assert.Equal(expected[k].Lab, data.Examples[k].Labels);
            Assert.InRange(data.Examples[k].Length, 1, t);
        }

        // Each token appears once: as an input, or as the label that ends its window.
        var seen = data.Examples.SelectMany(e => e.InputIds.Append(e.Labels[^1])).ToArray();
        Assert.Equal(tokens.Take(count % (t + 1) == 1 ? count - 1 : count), seen);
        Assert.DoesNotContain(data.Examples, e => e.Labels.Contains(TokenizedExample.Ignore));
    }

    [Fact]
    public void SplitIsDisjointAndComplete()
    {
        int[] tokens = [.. Enumerable.Range(0, 1000)];
        var (train, eval) = TextDataset.FromTokens(tokens, 9).Split(0.9);
        Assert.Equal(tokens[..900], train.Tokens);
        Assert.Equal(tokens[900..], eval.Tokens);
        var trainIds = train.Examples.SelectMany(e => e.InputIds.Concat(e.Labels)).ToHashSet();
        var evalIds = eval.Examples.SelectMany(e => e.InputIds.Concat(e.Labels)).ToHashSet();
        Assert.Empty(trainIds.Intersect(evalIds));
        Assert.Equal(1000, trainIds.Count + evalIds.Count);
    }

    [Fact]
    public void FileIsTokenizedAsOneText()
    {
        string text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n";
        string path = _files.Write("input.txt", text);
        var data = TextDataset.FromFile(path, DataTestFiles.Tokenizer, 8, addBos: true);
        int[] expected = [1, .. DataTestFiles.Tokenizer.Encode(text)];
        Assert.Equal(expected, data.Tokens);
    }

    [Fact]
    public void NonUtf8FileIsReportedWithItsLine()
    {
        string path = Path.Combine(Path.GetDirectoryName(_files.Write("x", ""))!, "latin1.txt");
        File.WriteAllBytes(path, [(byte)'a', (byte)'\n', (byte)'b', 0xE9, (byte)'\n']);
        var e = Assert.Throws<QuantTune.Diagnostics.InvalidFormatException>(() => TextDataset.FromFile(path, DataTestFiles.Tokenizer, 8));
        Assert.Contains("latin1.txt", e.Message);
        Assert.Contains("line 2", e.Message);
    }
}
