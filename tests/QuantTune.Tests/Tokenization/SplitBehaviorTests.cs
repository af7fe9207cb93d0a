namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>
/// The Split pre-tokenizer's behaviours, on the cases of Hugging Face tokenizers' own tests
/// (tokenizers/src/tokenizer/normalizer.rs <c>split</c> and pre_tokenizers/split.rs <c>basic</c>).
/// </summary>
public sealed class SplitBehaviorTests
{
    [Theory]
    [InlineData("Removed", new[] { "The", "final", "countdown" })]
    [InlineData("Isolated", new[] { "The", "-", "final", "-", "-", "countdown" })]
    [InlineData("MergedWithPrevious", new[] { "The-", "final-", "-", "countdown" })]
    [InlineData("MergedWithNext", new[] { "The", "-final", "-", "-countdown" })]
    [InlineData("Contiguous", new[] { "The", "-", "final", "--", "countdown" })]
    public void SplitsAroundADelimiterAsTokenizersDoes(string behavior, string[] expected)
    {
        Assert.Equal(expected, DelimiterSplit.Split(CodePointRegex.Create("-"), "The-final--countdown", Enum.Parse<SplitBehavior>(behavior), invert: false));
    }

    [Theory]
    [InlineData("Removed", new[] { "How", "are", "you", "doing", "?" })]
    [InlineData("Isolated", new[] { "How", " ", "are", " ", "you", " ", "doing", "?" })]
    [InlineData("MergedWithPrevious", new[] { "How ", "are ", "you ", "doing", "?" })]
    [InlineData("MergedWithNext", new[] { "How", " are", " you", " doing", "?" })]
    [InlineData("Contiguous", new[] { "How", " ", "are", " ", "you", " ", "doing?" })]
    public void InvertTreatsTheTextBetweenMatchesAsTheDelimiter(string behavior, string[] expected)
    {
        Assert.Equal(expected, DelimiterSplit.Split(CodePointRegex.Create(@"\w+|[^\w\s]+"), "How are you doing?", Enum.Parse<SplitBehavior>(behavior), invert: true));
    }

    [Fact]
    public void AnUnknownBehaviourIsRefusedWithTheFieldAndTheChoices()
    {
        using var files = new SyntheticTokenizer();
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "tokenizer.json")))!.AsObject();
        json["pre_tokenizer"] = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "Split",
            ["pattern"] = new System.Text.Json.Nodes.JsonObject { ["String"] = " " },
            ["behavior"] = "MergedWithBoth",
        };

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(files.Write(json)));
        Assert.Contains("pre_tokenizer.behavior", e.Message);
        Assert.Contains("MergedWithPrevious", e.Message);
    }
}
