using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Fuzz;
using QuantTune.Models.Loading;
using QuantTune.Tokenization;

namespace QuantTune.Tests.Tokenization;

/// <summary>
/// Two tokens with one id are refused when the tokenizer is loaded; ids beyond the model's vocabulary are refused
/// when the model is loaded (its vocabulary) or when text holds them (added tokens), never inside the embedding.
/// </summary>
public sealed class TokenIdTests() : TempFolderTest("quanttune-token-ids-")
{
    /// <summary>A copy of the micro checkpoint whose tokenizer.json <paramref name="edit"/> changed.</summary>
    string Checkpoint(Action<JsonObject> edit)
    {
        foreach (var f in Directory.GetFiles(MicroModel.Instance.Checkpoint)) File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
        var path = Path.Combine(Dir, "tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void TwoVocabularyEntriesWithOneIdAreRefused()
    {
        var path = Checkpoint(j => j["model"]!["vocab"]!["zz"] = 7);
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HfTokenizer.FromFile(path)));
        Assert.Equal(path, e.File);
        Assert.Equal("model.vocab.zz", e.Field);
    }

    [Fact]
    public void AnAddedTokenOnTheIdOfAnotherTokenIsRefused()
    {
        var path = Checkpoint(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 7, ["content"] = "<other>", ["special"] = true }));
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => HfTokenizer.FromFile(path)));
        Assert.Equal("added_tokens", e.Field);
    }

    [Fact]
    public void AnAddedTokenBeyondTheModelsVocabularyLoadsAndIsRefusedWhenTextHoldsIt()
    {
        // As transformers: Gemma 3 1B's tokenizer carries <image_soft_token> one past vocab_size, and the model loads.
        Checkpoint(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = MicroModel.Vocab + 5, ["content"] = "<extra>", ["special"] = true }));
        using var model = PretrainedModel.Load(Dir);
        Assert.Equal(MicroModel.Vocab + 6, model.Tokenizer.VocabSize);
        var plain = model.Tokenizer.Encode("a b c", addSpecialTokens: true);
        Assert.All(plain, id => Assert.InRange(id, 0, MicroModel.Vocab - 1));
        var e = Assert.ThrowsAny<QuantTuneException>(() => model.Tokenizer.Encode("a <extra> b"));
        Assert.Contains("'<extra>'", e.Message);
        Assert.Contains($"id {MicroModel.Vocab + 5}", e.Message);
        Assert.Contains("vocab_size in " + Path.Combine(Dir, "config.json"), e.Message);
    }

    [Fact]
    public void AnIdWithNoTokenIsLeftOutOfTheTextAsHuggingFaceTokenizersDecodes()
    {
        // npm tokenizers 0.23.2 on tiny-llama: decode([43, 99999, 818, 82, 926]) is "Hello world", as without 99999.
        // A model whose embedding is padded past its tokenizer can sample such an id; generate must not fail on it.
        var tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        Assert.Equal("Hello world", tokenizer.Decode([43, 818, 82, 926]));
        Assert.Equal("Hello world", tokenizer.Decode([43, 99999, 818, 82, 926]));
        var stream = new TokenStreamDecoder(tokenizer, [43]);
        Assert.Equal("Hello world"[tokenizer.Decode([43]).Length..], string.Concat(new[] { 99999, 818, 82, 926 }.Select(stream.Add)) + stream.Flush());
    }

    [Fact]
    public void AGgufExportLeavesOutAddedTokensBeyondTheEmbeddingAndReadsBack()
    {
        // As convert_hf_to_gguf.py ("ignore token ...: id is out of range"): llama.cpp needs one token per embedding row.
        Checkpoint(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = MicroModel.Vocab + 5, ["content"] = "<extra>", ["special"] = true }));
        string gguf = Path.Combine(Dir, "model.gguf");
        using (var model = PretrainedModel.Load(Dir)) GgufExport.Write(model, gguf, LlamaFileType.F32);
        using (var file = GgufFile.Open(gguf))
        {
            var tokens = file.Metadata["tokenizer.ggml.tokens"].AsArray<string>();
            Assert.Equal(MicroModel.Vocab, tokens.Length);
            Assert.DoesNotContain("<extra>", tokens);
        }

        using var back = PretrainedModel.Load(gguf);
        Assert.Equal(MicroModel.Vocab, back.Tokenizer.VocabSize);
    }

    [Fact]
    public void AVocabularyEntryBeyondTheModelsVocabularyIsRefusedAtLoadNotInTheEmbedding()
    {
        // Plain text can encode to a vocabulary entry, so the model cannot take this tokenizer at all.
        var path = Checkpoint(j => j["model"]!["vocab"]!["zzq"] = MicroModel.Vocab + 5);
        var e = Assert.IsType<TokenizerFormatException>(Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(Dir).Dispose()));
        Assert.Equal(path, e.File);
        Assert.Equal("model.vocab", e.Field);
        Assert.Contains($"id {MicroModel.Vocab + 5}", e.Message);
    }

    [Fact]
    public void TheRealGemma3TokenizerTakesGemma3TextsVocabularyAndRefusesOnlyTheImageToken()
    {
        // tests/fixtures/tokenizers/gemma3 holds 262,145 ids; gemma3_text's vocab_size is 262,144 (Gemma 3 1B's config.json).
        var tokenizer = HfTokenizer.FromDirectory(RealTokenizers.Directory("gemma3"));
        Assert.Equal(262145, tokenizer.VocabSize);
        Assert.Equal("<image_soft_token>", tokenizer.IdToToken(262144));
        tokenizer.LimitToModel(262144, "vocab_size in config.json");
        var ids = tokenizer.Encode("<start_of_turn>user\nHello<end_of_turn>", addSpecialTokens: true);
        Assert.All(ids, id => Assert.InRange(id, 0, 262143));
        var e = Assert.ThrowsAny<QuantTuneException>(() => tokenizer.Encode("look: <image_soft_token>"));
        Assert.Contains("'<image_soft_token>' (id 262144)", e.Message);
    }
}
