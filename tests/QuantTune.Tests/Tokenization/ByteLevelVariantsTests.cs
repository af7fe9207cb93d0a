using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>Other byte-level pre-tokenizer layouts (Llama-3 / Qwen2 style) built from the tiny-llama vocabulary.</summary>
public sealed class ByteLevelVariantsTests : IDisposable
{
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    private const string Sample = "The history of the 12345 it's\n\n  done.\t😀 漢字";

    private readonly SyntheticTokenizer _files = new();
    private readonly HfTokenizer _reference = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);

    public void Dispose() => _files.Dispose();

    [Fact]
    public void SplitThenByteLevelWithoutRegexEqualsByteLevelWithRegex()
    {
        HfTokenizer tokenizer = Load(SplitThenByteLevel(Gpt2Pattern), merges => merges);

        Assert.Equal(_reference.Encode(Sample), tokenizer.Encode(Sample));
    }

    [Fact]
    public void MergesAsStringsEqualMergesAsPairs()
    {
        HfTokenizer tokenizer = Load(null, merges => new JsonArray(merges.Select(m => (JsonNode)$"{m![0]} {m[1]}").ToArray()));

        Assert.Equal(_reference.Encode(Sample), tokenizer.Encode(Sample));
    }

    [Fact]
    public void Llama3PatternSplitsDigitsInGroupsOfThree()
    {
        const string llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        HfTokenizer tokenizer = Load(SplitThenByteLevel(llama3), merges => merges);

        // Words "100" "000" "0": merges "0 0" and "00 0" give 1|00, 000, 0. GPT-2's single word would give 1|00|00|00.
        Assert.Equal(["1", "00", "000", "0"], tokenizer.Encode("1000000").Select(id => tokenizer.IdToToken(id)));
        Assert.Equal(["1", "00", "00", "00"], _reference.Encode("1000000").Select(id => _reference.IdToToken(id)));
        Assert.Equal(Sample, tokenizer.Decode(tokenizer.Encode(Sample)));
    }

    [Fact]
    public void AddPrefixSpaceActsLikeALeadingSpace()
    {
        JsonObject preTokenizer = new() { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true };
        HfTokenizer tokenizer = Load(preTokenizer, merges => merges);

        Assert.Equal(_reference.Encode(" history"), tokenizer.Encode("history"));
        Assert.Equal(_reference.Encode(" history"), tokenizer.Encode(" history"));
    }

    private static JsonObject SplitThenByteLevel(string pattern) => new()
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false },
            new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
    };

    private HfTokenizer Load(JsonObject? preTokenizer, Func<JsonArray, JsonArray> rewriteMerges)
    {
        JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.TinyLlamaDir, "tokenizer.json")))!.AsObject();
        if (preTokenizer is not null)
        {
            json["pre_tokenizer"] = preTokenizer;
        }

        JsonArray merges = json["model"]!["merges"]!.AsArray();
        json["model"]!["merges"] = rewriteMerges(merges).DeepClone();
        return HfTokenizer.FromFile(_files.Write(json));
    }
}
