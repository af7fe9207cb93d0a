using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Fuzz;
using QuantTune.Models.Loading;
using QuantTune.Tokenization;

namespace QuantTune.Tests.Tokenization;

/// <summary>Two tokens with one id, and ids beyond the model's vocabulary, are refused when the tokenizer is loaded.</summary>
public sealed class TokenIdTests() : TempFolderTest("quanttune-token-ids-")
{
    /// <summary>A copy of the micro checkpoint whose tokenizer.json <paramref name="edit"/> changed.</summary>
    string Checkpoint(Action<JsonObject> edit)
    {
        foreach (var f in Directory.GetFiles(MicroModel.Instance.Checkpoint)) File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
        var path = Path.Combine(Dir, "tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void TwoVocabularyEntriesWithOneIdAreRefused()
    {
        var path = Checkpoint(j => j["model"]!["vocab"]!["zz"] = 7);
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HfTokenizer.FromFile(path)));
        Assert.Equal(path, e.File);
        Assert.Equal("model.vocab.zz", e.Field);
    }

    [Fact]
    public void AnAddedTokenOnTheIdOfAnotherTokenIsRefused()
    {
        var path = Checkpoint(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 7, ["content"] = "<other>", ["special"] = true }));
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HfTokenizer.FromFile(path)));
        Assert.Equal("added_tokens", e.Field);
    }

    [Fact]
    public void IdsBeyondTheModelsVocabularyAreRefusedAtLoadNotInTheEmbedding()
    {
        var path = Checkpoint(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = MicroModel.Vocab + 5, ["content"] = "<extra>", ["special"] = true }));
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(Dir).Dispose()));
        Assert.Equal(path, e.File);
        Assert.Equal("added_tokens", e.Field);
        Assert.Contains($"id {MicroModel.Vocab + 5}", e.Message);
    }
}
