using System.Text.Json;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>The byte-level BPE fixture (tiny-llama) against ids computed by Hugging Face transformers.</summary>
public class TinyLlamaTokenizerTests
{
    private static readonly HfTokenizer Tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);

    [Fact]
    public void PromptMatchesReferenceIds()
    {
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "reference.json")));
        JsonElement generation = reference.RootElement.GetProperty("greedy_generation");
        int[] expected = generation.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        Assert.Equal("The history of the", generation.GetProperty("prompt").GetString());
        Assert.Equal(expected, Tokenizer.Encode("The history of the"));
        Assert.Equal([529, 1625, 279, 264], expected);
    }

    [Fact]
    public void AddSpecialTokensPrependsBosFromTemplate()
    {
        Assert.Equal([1, 529, 1625, 279, 264], Tokenizer.Encode("The history of the", addSpecialTokens: true));
    }

    [Fact]
    public void SpecialIdsAndVocabulary()
    {
        Assert.Equal(4096, Tokenizer.VocabSize);
        Assert.Equal(1, Tokenizer.BosId);
        Assert.Equal(2, Tokenizer.EosId);
        Assert.Equal(3, Tokenizer.PadId);
        Assert.Equal(0, Tokenizer.UnkId);
        Assert.Equal("<s>", Tokenizer.IdToToken(1));
        Assert.Equal(529, Tokenizer.TokenToId("The"));
        Assert.Equal("Ġhistory", Tokenizer.IdToToken(1625));
        Assert.Null(Tokenizer.IdToToken(4096));
        Assert.Null(Tokenizer.TokenToId("no such token"));
    }

    [Fact]
    public void AddedTokensInTextAreSplitOut()
    {
        IReadOnlyList<int> ids = Tokenizer.Encode("<s>The history of the</s>");

        Assert.Equal([1, 529, 1625, 279, 264, 2], ids);
        Assert.Equal("<s>The history of the</s>", Tokenizer.Decode(ids));
        Assert.Equal("The history of the", Tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Theory]
    [InlineData("Hello, world!")]
    [InlineData("  two  spaces,\tthen a tab\nand\n\n newlines \n")]
    [InlineData("emoji 😀👍🏽 and CJK 漢字かな한국어")]
    [InlineData("Ünïcödé — “quotes” … ½ 𝔘𝔫𝔦")]
    [InlineData("It's 3.14 o'clock; we'll see 12,345 items")]
    [InlineData("")]
    public void DecodeInvertsEncode(string text)
    {
        Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text)));
    }

    [Fact]
    public void ContractionsAndDigitsSplitLikeGpt2()
    {
        IReadOnlyList<int> ids = Tokenizer.Encode("it's 42");
        string[] tokens = ids.Select(id => Tokenizer.IdToToken(id)!).ToArray();

        // "'s" is its own word; " 42" keeps its leading space (as 'Ġ') in front of the digits.
        Assert.Contains("'s", tokens);
        Assert.StartsWith("Ġ4", tokens[Array.FindIndex(tokens, t => t.Contains('4'))]);
    }
}
