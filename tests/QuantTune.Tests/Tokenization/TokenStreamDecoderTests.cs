namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>Streaming decode of generated ids in the context of the prompt (SentencePiece-style vocabulary).</summary>
public sealed class TokenStreamDecoderTests : IDisposable
{
    private const int Bos = 1, Mark = 259, A = 263, C = 264, MarkThe = 269, At = 270;
    private readonly SyntheticTokenizer _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void TheFirstGeneratedWordKeepsItsSpaceAfterThePrompt()
    {
        var tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));
        int[] prompt = [Bos, MarkThe];
        int[] generated = [Mark, C, At];
        // Decoding the completion alone drops the word mark's space ("the" + "cat"): the bug seen in generate.
        Assert.Equal("cat", tokenizer.Decode(generated, skipSpecialTokens: true));
        var decoder = new TokenStreamDecoder(tokenizer, prompt);
        var text = string.Concat(generated.Select(decoder.Add)) + decoder.Flush();
        Assert.Equal(" cat", text);
        Assert.Equal(tokenizer.Decode([.. prompt, .. generated], skipSpecialTokens: true), tokenizer.Decode(prompt, skipSpecialTokens: true) + text);
    }

    [Fact]
    public void ACharacterSplitOverByteTokensComesOutWholeOnceComplete()
    {
        var tokenizer = HfTokenizer.FromFile(_files.Write(SyntheticTokenizer.SentencePieceStyle()));
        var ids = tokenizer.Encode("a 🙂");
        var decoder = new TokenStreamDecoder(tokenizer);
        var pieces = ids.Select(decoder.Add).ToList();
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        Assert.Equal("a 🙂", string.Concat(pieces) + decoder.Flush());
        Assert.Equal("", pieces[^2]); // the emoji's third byte: held back
        Assert.Equal(A, ids[1]);
    }

    [Fact]
    public void ByteLevelTextStreamsToTheSameStringAsOneDecode()
    {
        var tokenizer = HfTokenizer.FromDirectory(TestData.TinyLlamaDir);
        const string text = "Once upon a time, naïve café — 😀 «quoted» 東京";
        var ids = tokenizer.Encode(text);
        var decoder = new TokenStreamDecoder(tokenizer, tokenizer.Encode("Prompt:", addSpecialTokens: true));
        Assert.Equal(text, string.Concat(ids.Select(decoder.Add)) + decoder.Flush());
    }
}
