using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Fuzz;
using QuantTune.Tokenization;

namespace QuantTune.Tests.Tokenization;

/// <summary>
/// Two findings of the tokenizer fuzz target: a merge listed twice (Microsoft.ML.Tokenizers raised
/// ArgumentException) and a post_processor that adds an id no token has (Decode raised
/// ArgumentOutOfRangeException). The micro tokenizer is fuzz/corpus/tokenizer/valid.
/// </summary>
public sealed class DuplicateMergeTests() : TempFolderTest("quanttune-duplicate-merge-")
{
    static JsonObject Micro() => JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "fuzz", "corpus", "tokenizer", "valid")))!.AsObject();

    string Write(JsonObject json)
    {
        var path = Path.Combine(Dir, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    /// <summary>Expected ids from Hugging Face tokenizers 0.23.2 (tools/tokenizer-references/duplicate-merges.mjs): the repeated pair keeps its last rank.</summary>
    [Fact]
    public void AMergeListedTwiceKeepsItsLastRankAsHuggingFaceTokenizersDoes()
    {
        var json = Micro();
        var merges = json["model"]!["merges"]!.AsArray();
        Assert.Equal("[\"o\",\"m\"]", merges[40]!.ToJsonString());
        merges.Insert(0, merges[40]!.DeepClone());
        var tokenizer = HfTokenizer.FromFile(Write(json));
        Assert.Equal([264, 265, 87, 261, 85, 298, 289, 262, 87, 264, 267, 87, 271, 297, 265, 81, 264, 284, 76, 309, 265, 80, 272],
            tokenizer.Encode(" the other thing at the station on the hill omen"));
    }

    [Fact]
    public void APostProcessorIdNoTokenHasNamesTheFileAndField()
    {
        var json = Micro();
        json.Remove("added_tokens");
        json["model"]!["vocab"]!.AsObject().Remove("<s>");
        var path = Write(json);
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HfTokenizer.FromFile(path)));
        Assert.Equal(path, e.File);
        Assert.Equal("post_processor", e.Field);
        Assert.Contains("id 1", e.Message);
    }
}
