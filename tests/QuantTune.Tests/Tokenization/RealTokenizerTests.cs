namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>
/// Real tokenizer files of current model families encode and decode as Hugging Face tokenizers does, on texts
/// full of digits, punctuation, whitespace runs, CJK, emoji, math letters and CJK Extension B characters.
/// </summary>
public sealed class RealTokenizerTests
{
    public static TheoryData<string> Models() => new(RealTokenizers.Shipped.Concat(["tiny-llama"]));

    [Theory]
    [MemberData(nameof(Models))]
    public void EncodesAndDecodesAsHuggingFaceTokenizers(string model)
    {
        HfTokenizer tokenizer = RealTokenizers.Tokenizer(model);

        foreach (RealTokenizers.Case c in RealTokenizers.ReadExpected(model).Cases)
        {
            Assert.True(c.Ids.SequenceEqual(tokenizer.Encode(c.Text)), $"{model}: ids of {c.Text}");
            Assert.True(c.IdsWithSpecialTokens.SequenceEqual(tokenizer.Encode(c.Text, addSpecialTokens: true)), $"{model}: ids with special tokens of {c.Text}");
            Assert.Equal(c.Decoded, tokenizer.Decode(c.Ids));
        }
    }
}
