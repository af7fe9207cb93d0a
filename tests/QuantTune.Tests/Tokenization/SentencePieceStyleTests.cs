using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>BPE with byte_fallback and ▁ word marks (Llama-2 / Mistral style), on a hand-made vocabulary.</summary>
public sealed class SentencePieceStyleTests : IDisposable
{
    // Ids of the synthetic vocabulary (see SyntheticTokenizer.SentencePieceStyle).
    private const int Bos = 1, Mark = 259, T = 260, A = 263, C = 264, Smiley = 265, He = 266, MarkTh = 268, MarkThe = 269, At = 270;

    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void MergesApplyInRankOrderAfterPrefix()
    {
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));

        // "▁the▁cat": "h e" (rank 0) goes first, so "▁t he" can fire; left-to-right merging would give "▁th" + "e".
        Assert.Equal([MarkThe, Mark, C, At], tokenizer.Encode("the cat"));
        Assert.Equal([MarkTh], tokenizer.Encode("th"));
        Assert.Equal([Bos, MarkThe], tokenizer.Encode("the", addSpecialTokens: true));
        Assert.Equal(Bos, tokenizer.BosId);
        Assert.Equal(0, tokenizer.UnkId);
        Assert.Equal(271, tokenizer.VocabSize);
    }

    [Fact]
    public void UnknownCharactersFallBackToUtf8ByteTokens()
    {
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));

        // é = C3 A9; byte token <0xXY> has id 3 + 0xXY.
        Assert.Equal([MarkTh, 3 + 0xC3, 3 + 0xA9], tokenizer.Encode("thé"));
        Assert.Equal("<0xC3>", tokenizer.IdToToken(3 + 0xC3));

        // A character made of a surrogate pair: in the vocabulary as a whole, or as four bytes F0 9F 99 82.
        Assert.Equal([Mark, A, Smiley], tokenizer.Encode("a😀"));
        Assert.Equal([Mark, 3 + 0xF0, 3 + 0x9F, 3 + 0x99, 3 + 0x82], tokenizer.Encode("🙂"));
    }

    [Theory]
    [InlineData("the cat")]
    [InlineData("thé  at\tcat 🙂 😀")]
    [InlineData(" leading space")]
    public void DecodeInvertsEncode(string text)
    {
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void InvalidUtf8ByteTokensDecodeToReplacementCharacters()
    {
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));

        // A lone lead byte is not UTF-8: one U+FFFD per byte token, as Hugging Face's ByteFallback decoder does.
        Assert.Equal("\uFFFD\uFFFDhe", tokenizer.Decode([3 + 0xC3, 3 + 0xC3, He]));
    }

    [Fact]
    public void SpecialTokensInTextAndDecodeSkipping()
    {
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));

        // The Prepend normalizer runs on each piece between special tokens (Llama-2 "legacy" behaviour).
        IReadOnlyList<int> ids = tokenizer.Encode("<s>the</s>");
        Assert.Equal([Bos, MarkThe, 2], ids);
        Assert.Equal("<s> the</s>", tokenizer.Decode(ids));
        Assert.Equal("the", tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void MetaspacePreTokenizerWithPrependSchemeFirst()
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["normalizer"] = null;
        json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = true };
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(json));

        Assert.Equal([MarkThe, Mark, C, At], tokenizer.Encode("the cat"));

        // Only text at the very start gets the ▁ prefix; after a special token it does not.
        Assert.Equal([Bos, T, He], tokenizer.Encode("<s>the"));
    }

    [Fact]
    public void MergesAsArrayPairsGiveTheSameResult()
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["model"]!["merges"] = new JsonArray(
            new JsonArray("h", "e"), new JsonArray("▁", "t"), new JsonArray("▁t", "h"), new JsonArray("▁t", "he"), new JsonArray("a", "t"));
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(json));

        Assert.Equal([MarkThe, Mark, C, At], tokenizer.Encode("the cat"));
    }

    [Fact]
    public void WithoutByteTokensUnknownCharactersBecomeOneFusedUnk()
    {
        JsonObject json = SyntheticTokenizer.SentencePieceStyle();
        json["model"]!["byte_fallback"] = false;
        HfTokenizer tokenizer = HfTokenizer.FromFile(_files.Write(json));

        Assert.Equal([MarkTh, 0, He], tokenizer.Encode("thééhe"));
    }
}
