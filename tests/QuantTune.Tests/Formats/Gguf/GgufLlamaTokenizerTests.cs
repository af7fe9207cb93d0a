using System.Text.Json.Nodes;
using QuantTune.Formats.Gguf;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;
using QuantTune.Tests.Tokenization;
using QuantTune.Tokenization;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// The Llama-2 / Mistral style tokenizer (BPE + byte_fallback, ▁ word marks) written as a GGUF
/// <c>llama</c> tokenizer and read back: the same ids as the original tokenizer.json.
/// </summary>
public sealed class GgufLlamaTokenizerTests : IDisposable
{
    readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    static readonly string[] Texts = ["the cat", "thé  at\tcat 🙂 😀", "hello, world!\nthe end", "a😀b", "catheat the"];

    static ModelConfig Config(int vocab) => new()
    {
        ModelType = "llama", VocabSize = vocab, HiddenSize = 64, IntermediateSize = 128, NumLayers = 1,
        NumHeads = 2, NumKvHeads = 2, HeadDim = 32, Rope = new RopeConfig(10000),
    };

    /// <summary>Writes <paramref name="json"/> as tokenizer.json and as a GGUF holding only its tokenizer; returns both tokenizers.</summary>
    (HfTokenizer Original, string Gguf) Export(JsonObject json, int vocab = 300)
    {
        var path = _files.Write(json);
        var original = HfTokenizer.FromFile(path);
        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of("llama"));
        GgufVocabExport.Add(w, path, original, Config(vocab));
        var gguf = Path.Combine(_files.Directory, "tokenizer.gguf");
        w.Write(gguf);
        return (original, gguf);
    }

    static HfTokenizer Read(string gguf)
    {
        using var f = GgufFile.Open(gguf);
        return GgufTokenizer.Load(f);
    }

    static void AssertSameIds(HfTokenizer original, HfTokenizer rebuilt, IEnumerable<string> texts)
    {
        foreach (var text in texts)
        {
            Assert.Equal(original.Encode(text), rebuilt.Encode(text));
            Assert.Equal(original.Encode(text, addSpecialTokens: true), rebuilt.Encode(text, addSpecialTokens: true));
            Assert.Equal(original.Decode(original.Encode(text)), rebuilt.Decode(rebuilt.Encode(text)));
        }
    }

    [Fact]
    public void WritesSentencePieceTokensScoresAndTypes()
    {
        var (_, gguf) = Export(SyntheticTokenizer.SentencePieceStyle());
        using var f = GgufFile.Open(gguf);
        Assert.Equal("llama", f.Metadata["tokenizer.ggml.model"].AsString());
        var tokens = f.Metadata["tokenizer.ggml.tokens"].AsArray<string>();
        var types = f.Metadata["tokenizer.ggml.token_type"].AsArray<int>();
        var scores = f.Metadata["tokenizer.ggml.scores"].AsArray<float>();
        Assert.Equal(300, tokens.Length);
        Assert.Equal(["<unk>", "<s>", "</s>", "<0x00>"], tokens[..4]);
        Assert.Equal("▁", tokens[259]);
        Assert.Equal("▁the", tokens[269]);
        Assert.Equal("[PAD299]", tokens[299]);
        // unknown 2, control 3, byte 6, normal 1, unused 5 (padding to the model's vocabulary).
        Assert.Equal([2, 3, 3], types[..3]);
        Assert.All(types[3..259], t => Assert.Equal(6, t));
        Assert.All(types[259..271], t => Assert.Equal(1, t));
        Assert.All(types[271..], t => Assert.Equal(5, t));
        // Merges by rank "h e", "▁ t", "▁t h", "▁t he", "a t": the merged token scores minus its rank.
        Assert.Equal(0f, scores[266]);   // he
        Assert.Equal(-1f, scores[267]);  // ▁t
        Assert.Equal(-2f, scores[268]);  // ▁th
        Assert.Equal(-3f, scores[269]);  // ▁the
        Assert.Equal(-4f, scores[270]);  // at
        Assert.True(scores[260] < -4f);  // t: no merge makes it
        Assert.Equal(0f, scores[3 + 0x41]);
        Assert.Equal(0, f.Metadata["tokenizer.ggml.unknown_token_id"].AsInt64());
        Assert.Equal(1, f.Metadata["tokenizer.ggml.bos_token_id"].AsInt64());
        Assert.True((bool)f.Metadata["tokenizer.ggml.add_bos_token"].Value);
        Assert.False((bool)f.Metadata["tokenizer.ggml.add_eos_token"].Value);
        Assert.True((bool)f.Metadata["tokenizer.ggml.add_space_prefix"].Value);
    }

    [Fact]
    public void ReadBackTokenizesIdentically()
    {
        var (original, gguf) = Export(SyntheticTokenizer.SentencePieceStyle());
        var rebuilt = Read(gguf);
        // The Prepend normalizer runs after every special token, as llama.cpp's SentencePiece tokenizer does.
        AssertSameIds(original, rebuilt, [.. Texts, "<s>the</s>", " leading space", "<unk>x"]);
        Assert.Equal(original.UnkId, rebuilt.UnkId);
        Assert.Equal(original.BosId, rebuilt.BosId);
    }

    [Fact]
    public void WithoutMergesAsLlamaCppWritesItTheScoresGiveTheSameIds()
    {
        var (original, gguf) = Export(SyntheticTokenizer.SentencePieceStyle());
        var bare = Path.Combine(_files.Directory, "no-merges.gguf");
        using (var f = GgufFile.Open(gguf))
        {
            var w = new GgufWriter();
            foreach (var (key, value) in f.Metadata.Where(kv => kv.Key != "tokenizer.ggml.merges")) w.Add(key, value);
            w.Write(bare);
        }
        using (var f = GgufFile.Open(bare)) Assert.False(f.Metadata.ContainsKey("tokenizer.ggml.merges"));
        AssertSameIds(original, Read(bare), [.. Texts, "<s>the</s>"]);
    }

    [Fact]
    public void MetaspacePreTokenizerIsAlsoALlamaTokenizer()
    {
        var json = SyntheticTokenizer.SentencePieceStyle();
        json["normalizer"] = null;
        json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false };
        var (original, gguf) = Export(json);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal("llama", f.Metadata["tokenizer.ggml.model"].AsString());
            Assert.True((bool)f.Metadata["tokenizer.ggml.add_space_prefix"].Value);
        }
        // Plain text (no special tokens inside, no leading space) is where the two prefix schemes agree.
        AssertSameIds(original, Read(gguf), Texts);
    }

    [Fact]
    public void ExportedModelLoadsWithTheSameTokenizer()
    {
        // tiny-llama's weights with the Llama-2-style tokenizer: export gguf writes it as "llama",
        // and loading the .gguf (as eval and generate do) gives back the same ids.
        var dir = Path.Combine(_files.Directory, "model");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(TestData.TinyLlamaDir).Where(f => f.EndsWith("config.json") || f.Contains("model-") || f.EndsWith("index.json")))
            if (!Path.GetFileName(file).StartsWith("tokenizer")) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), SyntheticTokenizer.SentencePieceStyle().ToJsonString());
        var gguf = Path.Combine(_files.Directory, "model.gguf");
        HfTokenizer original;
        using (var model = PretrainedModel.Load(dir))
        {
            original = model.Tokenizer;
            GgufExport.Write(model, gguf, LlamaFileType.F32);
        }
        using var loaded = PretrainedModel.Load(gguf);
        AssertSameIds(original, loaded.Tokenizer, Texts);
        using var f = GgufFile.Open(gguf);
        Assert.Equal("llama", f.Metadata["tokenizer.ggml.model"].AsString());
        Assert.Equal(4096, f.Metadata["tokenizer.ggml.tokens"].AsArray<string>().Length);
    }
}
