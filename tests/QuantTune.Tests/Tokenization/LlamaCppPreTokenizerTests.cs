namespace QuantTune.Tests.Tokenization;

using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;

/// <summary>
/// <c>tokenizer.ggml.pre</c> follows from the tokenizer as in llama.cpp's convert_hf_to_gguf.py: the sha256 of the
/// ids of its chktxt looked up in the converter's table.
/// </summary>
public sealed class LlamaCppPreTokenizerTests
{
    public static TheoryData<string, string> Names() => new()
    {
        { "qwen3", "qwen2" },
        { "llama3.1", "llama-bpe" },
        { "deepseek-v3", "deepseek-v3" },
        { "cl100k", "dbrx" },
        { "gpt2", "gpt-2" },
        { "gemma3", "default" },
        { "tiny-llama", "gpt-2" },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void TheNameFollowsFromTheTokenizer(string model, string expected)
    {
        var tokenizer = RealTokenizers.Tokenizer(model);
        string path = Path.Combine(RealTokenizers.Directory(model), "tokenizer.json");

        Assert.Equal(expected, LlamaCppPreTokenizer.Choose(tokenizer, path).Name);
    }

    /// <summary>The hash is over the ids Hugging Face tokenizers gives for chktxt (the expected file's last text), framed as transformers frames them.</summary>
    [Theory]
    [InlineData("qwen3")]
    [InlineData("tiny-llama")]
    public void TheHashIsThatOfHuggingFacesIdsForTheConvertersText(string model)
    {
        var expected = RealTokenizers.ReadExpected(model);
        Assert.Equal(LlamaCppPreTokenizer.Chktxt, expected.Cases[^1].Text);

        Assert.Equal(expected.ChktxtSha256, LlamaCppPreTokenizer.Sha256(expected.Cases[^1].IdsWithSpecialTokens));
        Assert.Equal(expected.ChktxtSha256, LlamaCppPreTokenizer.Choose(RealTokenizers.Tokenizer(model), Path.Combine(RealTokenizers.Directory(model), "tokenizer.json")).ChktxtSha256);
    }

    [Fact]
    public void AnUnknownPreTokenizerIsRefusedUnlessANameIsGiven()
    {
        using var files = new SyntheticTokenizer();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "tokenizer.json")))!.AsObject();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"\p{N}|[^\s\p{N}]+|\s+" }, ["behavior"] = "Isolated" },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
        };
        string path = files.Write(json);
        var tokenizer = QuantTune.Tokenization.HfTokenizer.FromFile(path);

        var e = Assert.Throws<InvalidSettingException>(() => LlamaCppPreTokenizer.Choose(tokenizer, path));
        Assert.Contains("LlamaCppPreTokenizer.Choose(requested)", e.Message);
        Assert.Contains(LlamaCppPreTokenizer.Sha256(tokenizer.Encode(LlamaCppPreTokenizer.Chktxt, addSpecialTokens: true)), e.Message);
        Assert.Equal("gpt-2", LlamaCppPreTokenizer.Choose(tokenizer, path, "gpt-2").Name);
        Assert.Contains("llama-bpe", Assert.Throws<InvalidSettingException>(() => LlamaCppPreTokenizer.Choose(tokenizer, path, "gpt2")).Message);
    }
}
