using QuantTune.Diagnostics;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class MalformedDataTests : IDisposable
{
    private const string JsonLinesWithBrokenLine3 = """
        {"instruction": "One", "output": "1"}
        {"instruction": "Two", "output": "2"}
        {"instruction": "Three", "output": 
        {"instruction": "Four", "output": "4"}
        """;

    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void BrokenJsonLineStopsLoadingWithFileAndLine()
    {
        string path = _files.Write("broken.jsonl", JsonLinesWithBrokenLine3);
        var e = Assert.Throws<DataRecordException>(() => InstructionDataset.Load(path, DataTestFiles.Tokenizer));
        Assert.IsAssignableFrom<InvalidFormatException>(e);
        Assert.Contains("broken.jsonl", e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.Contains("invalid JSON", e.Message);
        Assert.Equal(3, e.Problem.Line);
    }

    [Fact]
    public void SkippingReportsTheBadLineAndLoadsTheRest()
    {
        string path = _files.Write("broken.jsonl", JsonLinesWithBrokenLine3);
        var data = InstructionDataset.Load(path, DataTestFiles.Tokenizer, skipBadLines: true);
        Assert.Equal(3, data.Examples.Count);
        DataProblem problem = Assert.Single(data.Problems);
        Assert.Equal(path, problem.File);
        Assert.Equal(3, problem.Line);
        Assert.Contains("line 3", problem.ToString());
    }

    [Theory]
    [InlineData("""{"input": "x", "output": "y"}""", "missing field 'instruction'")]
    [InlineData("""["not", "an", "object"]""", "expected an object")]
    [InlineData("""{"instruction": 5, "output": "y"}""", "field 'instruction' is a JSON number")]
    [InlineData("""{"instruction": "x"}""", "missing field 'output'")]
    [InlineData("""{"instruction": "x", "input": [], "output": "y"}""", "field 'input'")]
    public void EachKindOfBadJsonLineIsNamed(string line, string expected)
    {
        string path = _files.Write("bad.jsonl", "{\"instruction\": \"ok\", \"output\": \"ok\"}\n" + line + "\n");
        var e = Assert.Throws<DataRecordException>(() => InstructionDataset.Load(path, DataTestFiles.Tokenizer));
        Assert.Contains("line 2", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void JsonArrayElementMissingInstructionIsNamedByIndexAndLine()
    {
        string path = _files.Write("bad.json", """
            [
              {"instruction": "One", "output": "1"},
              {"instruction": "Two", "output": "2"},
              {
                "input": "no instruction here",
                "output": "3"
              }
            ]
            """);
        var e = Assert.Throws<DataRecordException>(() => InstructionDataset.Load(path, DataTestFiles.Tokenizer));
        Assert.Contains("bad.json", e.Message);
        Assert.Contains("element [2]", e.Message);
        Assert.Contains("line 4", e.Message);
        Assert.Contains("'instruction'", e.Message);

        var data = InstructionDataset.Load(path, DataTestFiles.Tokenizer, skipBadLines: true);
        Assert.Equal(2, data.Examples.Count);
        Assert.Single(data.Problems);
    }

    [Fact]
    public void UnparsableJsonArrayStopsEvenWhenSkipping()
    {
        string path = _files.Write("cut.json", "[\n  {\"instruction\": \"One\", \"output\": \"1\"},\n  {\"instruction\": \n");
        var e = Assert.Throws<InvalidFormatException>(() => InstructionDataset.Load(path, DataTestFiles.Tokenizer, skipBadLines: true));
        Assert.Contains("cut.json", e.Message);
        Assert.Contains("invalid JSON", e.Message);
    }

    [Fact]
    public void TsvWithWrongColumnCountOrUnknownLabelIsNamedByLine()
    {
        string path = _files.Write("bad.tsv", "sentence\tlabel\ngood film \t1\ntwo\ttabs\t0\nbad film \t0\nmeh \t2\n");
        var e = Assert.Throws<DataRecordException>(() => ClassificationDataset.Load(path, DataTestFiles.Tokenizer));
        Assert.Contains("bad.tsv", e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.Contains("3 tab-separated column(s); expected 2", e.Message);

        var data = ClassificationDataset.Load(path, DataTestFiles.Tokenizer, skipBadLines: true);
        Assert.Equal(2, data.Items.Count);
        Assert.Equal([3, 5], data.Problems.Select(p => p.Line));
        Assert.Contains("unknown label '2'", data.Problems[1].Message);
    }

    [Fact]
    public void TsvWithoutTheLabelColumnNamesTheColumn()
    {
        string path = _files.Write("nolabel.tsv", "sentence\tscore\ngood \t1\n");
        var e = Assert.Throws<InvalidFormatException>(() => ClassificationDataset.Load(path, DataTestFiles.Tokenizer, skipBadLines: true));
        Assert.Contains("nolabel.tsv", e.Message);
        Assert.Contains("'label'", e.Message);
    }
}
