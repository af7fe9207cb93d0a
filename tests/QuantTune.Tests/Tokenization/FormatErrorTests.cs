using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>Unsupported or broken tokenizer files fail with a message naming the file and the field.</summary>
public sealed class FormatErrorTests : IDisposable
{
    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void MissingFile()
    {
        string path = Path.Combine(_files.Directory, "tokenizer.json");

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromDirectory(_files.Directory));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void InvalidJson()
    {
        string path = _files.WriteText("{ \"model\": { \"type\": \"BPE\", ");

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("is not valid JSON (line 1", e.Message);
    }

    [Theory]
    [InlineData("Wordpiece")]
    [InlineData("SentencePiece")]
    public void UnsupportedModelType(string type)
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["model"]!["type"] = type;
        string path = _files.Write(json);

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(path));

        Assert.Contains(path, e.Message);
        Assert.Contains($"field 'model.type': is '{type}'; expected a known model type: BPE, WordLevel, WordPiece, Unigram", e.Message);
    }

    [Theory]
    [InlineData("merges")]
    [InlineData("vocab")]
    public void MissingModelTable(string field)
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["model"]!.AsObject().Remove(field);
        string path = _files.Write(json);

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(path));

        Assert.Contains(path, e.Message);
        Assert.Contains($"field 'model.{field}': is missing", e.Message);
    }

    [Fact]
    public void UnknownPreTokenizerInSequence()
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(new JsonObject { ["type"] = "ByteLevel" }, new JsonObject { ["type"] = "BertTokenizer" }),
        };
        string path = _files.Write(json);

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(path));

        Assert.Contains("field 'pre_tokenizer.pretokenizers[1].type': is 'BertTokenizer'; expected a known pre-tokenizer type: Sequence, ByteLevel,", e.Message);
    }

    [Fact]
    public void MergeOfUnknownToken()
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["model"]!["merges"] = new JsonArray("h e", "x y");
        string path = _files.Write(json);

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("'model.merges'", e.Message);
    }
}
