using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class CorpusTextTests : IDisposable
{
    private readonly DataTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void JsonLinesGiveTheirTextFieldsNotTheirJsonSyntax()
    {
        string path = _files.Write("c.jsonl", "{\"text\": \"First \\\"quoted\\\" line.\\nSecond line.\", \"id\": 1}\n{\"text\": \"Another text.\"}\n");
        Assert.Equal("First \"quoted\" line.\nSecond line.\n\nAnother text.", CorpusText.Read(path));
    }

    [Fact]
    public void AlpacaRecordsGiveTheirPromptFollowedByTheirOutput()
    {
        string path = _files.Write("a.json", """
            [
              {"instruction": "Name a color.", "input": "", "output": "Blue."},
              {"instruction": "Translate.", "input": "cheese", "output": "fromage"}
            ]
            """);
        string expected = PromptTemplate.Alpaca.Format("Name a color.", "") + "Blue.\n\n" + PromptTemplate.Alpaca.Format("Translate.", "cheese") + "fromage";
        Assert.Equal(expected, CorpusText.Read(path));
        Assert.Contains("### Input:\ncheese\n\n### Response:\nfromage", expected);
    }

    [Fact]
    public void PlainTextIsReadAsItIs()
    {
        const string Text = "{\"not\": \"json records\"}\nJust text.";
        Assert.Equal(Text, CorpusText.Read(_files.Write("c.txt", Text)));
    }

    [Theory]
    [InlineData("""{"txt": "typo"}""", "missing field 'text'")]
    [InlineData("""{"text": 3}""", "field 'text' is a JSON number")]
    [InlineData("""{"instruction": "x"}""", "missing field 'output'")]
    [InlineData("""not json""", "invalid JSON")]
    public void ABadRecordIsNamedByFileLineAndField(string line, string expected)
    {
        string path = _files.Write("c.jsonl", "{\"text\": \"fine\"}\n" + line + "\n");
        var e = Assert.Throws<DataRecordException>(() => CorpusText.Read(path));
        Assert.Contains("c.jsonl", e.Message);
        Assert.Contains("line 2", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
