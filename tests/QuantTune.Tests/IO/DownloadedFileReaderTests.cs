using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Fuzz;
using QuantTune.Hub;
using QuantTune.Models.Loading;
using QuantTune.Peft.PromptTuning;
using QuantTune.Tokenization;
using QuantTune.Tokenization.ChatTemplates;

namespace QuantTune.Tests.IO;

/// <summary>
/// Files that come with a downloaded model and that no fuzz target reached: a shard index with a value that is
/// not a file name, a generation_config.json whose eos_token_id is not a token id, a prompt-tuning config whose
/// num_transformer_submodules is not an integer. Each is refused by file and field, never a raw .NET exception.
/// </summary>
public sealed class DownloadedFileReaderTests() : TempFolderTest("qt-downloaded-files-")
{
    string Write(string name, string text)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("{\"weight_map\": {\"model.embed_tokens.weight\": 5}}", "weight_map.model.embed_tokens.weight")]
    [InlineData("{\"weight_map\": {\"a\": null}}", "weight_map.a")]
    [InlineData("{\"weight_map\": {\"a\": \"../outside.safetensors\"}}", "weight_map")]
    [InlineData("{\"weight_map\": {\"a\": \"\"}}", "weight_map")]
    [InlineData("{\"weight_map\": [\"model.safetensors\"]}", "weight_map")]
    public void TheHubsShardListIsReadAsTheLoaderReadsIt(string index, string field)
    {
        var path = Write("model.safetensors.index.json", index);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HubModelFiles.Shards(path)));
        Assert.Equal(path, e.File);
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void AShardIndexThatIsNotUtf8IsRefusedByFile()
    {
        var path = Path.Combine(Dir, "model.safetensors.index.json");
        File.WriteAllBytes(path, [.. "{\"weight_map\": {\"a\": \""u8, 0xFF, 0xFE, .. "\"}}"u8]);
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HubModelFiles.Shards(path)));
        Assert.Equal(path, e.File);
    }

    [Fact]
    public void TheHubsShardListOfAGoodIndex()
    {
        var path = Write("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"model-2.safetensors\", \"b\": \"model-1.safetensors\", \"c\": \"model-2.safetensors\"}}");
        Assert.Equal(["model-1.safetensors", "model-2.safetensors"], HubModelFiles.Shards(path));
    }

    [Theory]
    [InlineData("3000000000")]
    [InlineData("1.5")]
    [InlineData("[2, 1.5]")]
    [InlineData("\"</s>\"")]
    public void AGenerationConfigEosThatIsNotATokenIdIsRefusedByField(string eos)
    {
        var path = Write("generation_config.json", $"{{\"eos_token_id\": {eos}}}");
        var tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        var e = Assert.ThrowsAny<InvalidFormatException>(() => EndOfTurnTokens.Find(Dir, tokenizer, [], null));
        Assert.Equal(path, e.File);
        Assert.StartsWith("eos_token_id", e.Field); // eos_token_id[1] for the list's second entry
    }

    [Fact]
    public void AGenerationConfigWithAListOfEosIdsIsRead()
    {
        Write("generation_config.json", "{\"eos_token_id\": [7, 2]}");
        var tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        Assert.Equal([7, 2], EndOfTurnTokens.Find(Dir, tokenizer, [], null).Take(2));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("\"1\"")]
    [InlineData("3000000000")]
    public void APromptTuningConfigWhoseSubmodulesIsNotAnIntegerIsRefusedByField(string submodules)
    {
        using var model = PretrainedModel.Load(MicroModel.Instance.Checkpoint);
        var config = new JsonObject
        {
            ["peft_type"] = "PROMPT_TUNING",
            ["token_dim"] = model.Config.HiddenSize,
            ["num_virtual_tokens"] = 4,
            ["num_transformer_submodules"] = JsonNode.Parse(submodules),
        };
        var path = Write("adapter_config.json", config.ToJsonString());
        var e = Assert.ThrowsAny<InvalidFormatException>(() => PromptTuningModel.Load(model.Model, Dir));
        Assert.Equal(path, e.File);
        Assert.Equal("num_transformer_submodules", e.Field);
    }
}
