using System.Text.Json;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>Encodes all of wiki.test.raw once for the tests in <see cref="WikiTextTests"/>.</summary>
public sealed class WikiTextEncoding
{
    public WikiTextEncoding()
    {
        Tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        Text = File.ReadAllText(TestData.WikiTestRaw);
        Ids = Tokenizer.Encode(Text);
    }

    public HfTokenizer Tokenizer { get; }

    public string Text { get; }

    public IReadOnlyList<int> Ids { get; }
}

/// <summary>The whole of wiki.test.raw against the reference token slices.</summary>
public class WikiTextTests(WikiTextEncoding wiki) : IClassFixture<WikiTextEncoding>
{
    private static readonly string ReferenceTensors = Path.Combine(TestData.TinyLlamaDir, "reference.safetensors");

    [Theory]
    [InlineData("input_ids.0", 0)]
    [InlineData("input_ids.1", 1000)]
    public void SliceMatchesReference(string tensor, int start)
    {
        long[] expected = TestData.ReadInt64Tensor(ReferenceTensors, tensor);

        Assert.Equal(64, expected.Length);
        Assert.Equal(expected, wiki.Ids.Skip(start).Take(64).Select(id => (long)id));
    }

    [Fact]
    public void DecodeInvertsEncodeOnWholeFile()
    {
        Assert.Equal(wiki.Text, wiki.Tokenizer.Decode(wiki.Ids));
    }

    [Fact]
    public void TokenCountMatchesPerplexityReference()
    {
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "reference.json")));
        int predicted = reference.RootElement.GetProperty("perplexity").GetProperty("predicted_tokens").GetInt32();

        // Windows ids[s..s+256) predict ids[s+1..s+257): every token but the first is predicted once.
        Assert.Equal(predicted, wiki.Ids.Count - 1);
    }
}
