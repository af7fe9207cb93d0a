using System.Text.Json;
using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.IO;
using QuantTune.Tokenization;

/// <summary>
/// Every normalizer, pre-tokenizer, model and decoder type read from tokenizer.json gives what Hugging Face
/// tokenizers gives: one small synthetic tokenizer.json per component (and per option: each Punctuation
/// behaviour, each Metaspace prepend_scheme with split on and off, Unigram with and without byte_fallback, BPE with
/// and without ignore_merges), encoded and decoded over texts with accents, digits, punctuation, white-space runs,
/// CJK and emoji, with and without the post-processor's special tokens. The tokenizers and the expected ids, decoded texts, normalized strings and pre-tokenized pieces
/// come from tools/tokenizer-references/components.mjs (npm tokenizers 0.23.2).
/// </summary>
public sealed class TokenizerComponentTests : IDisposable
{
    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    public static TheoryData<string> Cases => new(Load().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodesAndDecodesAsHuggingFaceTokenizers(string name)
    {
        JsonElement c = Load().Single(c => c.GetProperty("name").GetString() == name);
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.WriteText(c.GetProperty("tokenizer").GetRawText()));
        foreach (JsonElement result in c.GetProperty("results").EnumerateArray())
        {
            string text = result.GetProperty("text").GetString()!;
            int[] ids = result.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
            Assert.Equal(ids, tokenizer.Encode(text));
            Assert.Equal(result.GetProperty("ids_with_special_tokens").EnumerateArray().Select(i => i.GetInt32()), tokenizer.Encode(text, addSpecialTokens: true));
            Assert.Equal(result.GetProperty("decoded").GetString(), tokenizer.Decode(ids));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NormalizesAndSplitsAsHuggingFaceTokenizers(string name)
    {
        JsonElement c = Load().Single(c => c.GetProperty("name").GetString() == name);
        var json = new JsonField("expected.json", c.GetProperty("tokenizer"));
        string[] texts = c.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("text").GetString()!).ToArray();
        if (c.TryGetProperty("normalized", out JsonElement normalized))
        {
            Func<string, string> normalizer = TextNormalizer.Parse(json.Optional("normalizer"))!;
            Assert.Equal(normalized.EnumerateArray().Select(n => n.GetString()), texts.Select(normalizer));
        }

        if (c.TryGetProperty("pieces", out JsonElement pieces))
        {
            var pipeline = PreTokenizerPipeline.Parse(json.Optional("pre_tokenizer"));
            Assert.Equal(
                pieces.EnumerateArray().Select(p => string.Join("|", p.EnumerateArray().Select(x => x.GetString()))),
                texts.Select(t => string.Join("|", pipeline.Split(t, atTextStart: true))));
        }
    }

    [Fact]
    public void TheCasesCoverEveryRegisteredComponent()
    {
        var types = new HashSet<string>();
        foreach (JsonElement c in Load())
        {
            Collect(c.GetProperty("tokenizer"), types);
        }

        string[] unchecked_ = ["Precompiled", "UnicodeScripts"];
        foreach (string known in new[] { TextNormalizer.Types.Known, PreTokenizerPipeline.Types.Known, TokenModels.Types.Known, TokenDecoder.Types.Known })
        {
            foreach (string type in known.Split(", ").Except(unchecked_).Except(["ByteLevel", "Digits", "Split"]))
            {
                Assert.Contains(type, types);
            }
        }
    }

    private static void Collect(JsonElement element, HashSet<string> types)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in element.EnumerateObject())
            {
                if (p.Name == "type" && p.Value.ValueKind == JsonValueKind.String)
                {
                    types.Add(p.Value.GetString()!);
                }
                else if (p.Name != "vocab")
                {
                    Collect(p.Value, types);
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in element.EnumerateArray())
            {
                Collect(item, types);
            }
        }
    }

    private static List<JsonElement> Load()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RealTokenizers.FixtureDir("components"), "expected.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.Clone()).ToList();
    }
}
