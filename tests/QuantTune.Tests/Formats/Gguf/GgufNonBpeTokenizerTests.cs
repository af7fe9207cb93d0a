using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// GGUF export writes BPE vocabularies only (llama.cpp's gpt2 and llama): a model whose tokenizer.json holds a
/// WordLevel, WordPiece or Unigram model loads and tokenizes, and its export is refused by <c>model.type</c>
/// rather than written without merges.
/// </summary>
public sealed class GgufNonBpeTokenizerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quanttune-gguf-wordlevel-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AWordLevelTokenizerIsRefusedByModelType()
    {
        Directory.CreateDirectory(_dir);
        foreach (string file in Directory.GetFiles(TestData.TinyLlamaDir))
        {
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        }

        string tokenizerPath = Path.Combine(_dir, "tokenizer.json");
        JsonObject json = JsonNode.Parse(File.ReadAllText(tokenizerPath))!.AsObject();
        JsonNode vocab = json["model"]!["vocab"]!.DeepClone();
        json["model"] = new JsonObject { ["type"] = "WordLevel", ["vocab"] = vocab, ["unk_token"] = "<unk>" };
        File.WriteAllText(tokenizerPath, json.ToJsonString());

        using var model = PretrainedModel.Load(_dir);
        Assert.NotEmpty(model.Tokenizer.Encode("the"));
        var e = Assert.Throws<InvalidFormatException>(() => GgufExport.Write(model, Path.Combine(_dir, "out.gguf"), LlamaFileType.F32, preTokenizer: "gpt-2"));
        Assert.Equal("model.type", e.Field);
        Assert.Contains("'WordLevel'", e.Message);
        Assert.Contains(tokenizerPath, e.Message);
    }
}
