namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>tokenizer.json patterns match characters outside the BMP as whole code points, by their Unicode category.</summary>
public sealed class CodePointRegexTests
{
    private const string DeepSeekV3Words = @"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [Theory]
    [InlineData(@"\p{L}+", "x𝐀𝐁𝐂𠀀y!", new[] { "x𝐀𝐁𝐂𠀀y" })]
    [InlineData(@"\p{N}", "𝟏2", new[] { "𝟏", "2" })]
    [InlineData(@"[^\s\p{L}\p{N}]+", "😀😀 a𝑥", new[] { "😀😀" })]
    [InlineData(@"\S", "😀a", new[] { "😀", "a" })]
    [InlineData(@".", "😀a", new[] { "😀", "a" })]
    [InlineData(@"[\u4e00-\u9fa5]+", "𠀀中文", new[] { "中文" })]
    [InlineData(@"[\x{20000}-\x{2A6DF}]", "中𠀀", new[] { "𠀀" })]
    public void MatchesCodePointsByCategory(string pattern, string text, string[] expected)
    {
        Assert.Equal(expected, CodePointRegex.Create(pattern).Matches(text).Select(m => m.Value));
    }

    [Fact]
    public void DeepSeekV3sPatternKeepsAnEmojiWhole()
    {
        List<string> pieces = DelimiterSplit.Split(CodePointRegex.Create(DeepSeekV3Words), "😀abc 𝑥😀y", SplitBehavior.Isolated, invert: false);

        Assert.Equal(["😀", "abc", " 𝑥", "😀", "y"], pieces);
    }

    [Theory]
    [InlineData(@"[a-z&&[^aeiou]]", "intersection")]
    [InlineData(@"[[:alpha:]]", "nested")]
    [InlineData(@"\p{Han}", "Han")]
    public void UnsupportedConstructsAreRefusedWithTheFieldAndTheReason(string pattern, string reason)
    {
        using var files = new SyntheticTokenizer();
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "tokenizer.json")))!.AsObject();
        json["pre_tokenizer"] = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "Split",
            ["pattern"] = new System.Text.Json.Nodes.JsonObject { ["Regex"] = pattern },
            ["behavior"] = "Isolated",
        };

        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(files.Write(json)));
        Assert.Contains("pre_tokenizer.pattern", e.Message);
        Assert.Contains(reason, e.Message);
    }
}
