using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>
/// The Digits pre-tokenizer (SmolLM2's tokenizer.json: Sequence [Digits { individual_digits: true }, ByteLevel])
/// gives the ids Hugging Face tokenizers gives: tiny-llama's vocabulary under that pre-tokenizer, and under
/// Digits with runs of digits kept whole, on digits of several scripts and categories (Nd, Nl, No, astral).
/// The expected ids come from tools/tokenizer-references/digits.mjs (npm tokenizers 0.23.2).
/// </summary>
public sealed class DigitsPreTokenizerTests : IDisposable
{
    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    public static TheoryData<string> Layouts => new() { "individual", "contiguous" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void EncodesAsHuggingFaceTokenizers(string layout)
    {
        HfTokenizer tokenizer = Load(individualDigits: layout == "individual");
        foreach ((string text, int[] ids) in Expected(layout))
        {
            Assert.Equal(ids, tokenizer.Encode(text));
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void TheReferencesDependOnTheDigitsStep()
    {
        // Without Digits, byte-level BPE keeps " 2024" and "1999" as words: other ids, so the cases above test the step.
        HfTokenizer plain = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        foreach (string layout in new[] { "individual", "contiguous" })
            Assert.Contains(Expected(layout), c => !plain.Encode(c.Text).SequenceEqual(c.Ids));
        Assert.NotEqual(Expected("individual").Select(c => c.Ids), Expected("contiguous").Select(c => c.Ids));
    }

    [Fact]
    public void AMistypedIndividualDigitsIsRefusedByField()
    {
        JsonObject json = TinyLlamaJson();
        json["pre_tokenizer"] = new JsonObject { ["type"] = "Digits", ["individual_digits"] = "yes" };
        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromFile(_files.Write(json)));
        Assert.Contains("individual_digits", e.Field);
    }

    private HfTokenizer Load(bool individualDigits)
    {
        JsonObject json = TinyLlamaJson();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Digits", ["individual_digits"] = individualDigits },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }),
        };
        return HfTokenizer.FromFile(_files.Write(json));
    }

    private static JsonObject TinyLlamaJson() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "tokenizer.json")))!.AsObject();

    private static List<(string Text, int[] Ids)> Expected(string layout)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RealTokenizers.FixtureDir("digits"), "expected.json")));
        return doc.RootElement.GetProperty("cases").GetProperty(layout).EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToList();
    }
}
