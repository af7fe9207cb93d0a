using QuantTune.IO;
namespace QuantTune.Tokenization;

/// <summary>One entry of tokenizer.json's <c>added_tokens</c>.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord)
{
    public static AddedToken Parse(JsonField entry) => new(
        entry.Required("id", "the token id") is var id && id.GetInt32() >= 0 ? id.GetInt32() : throw id.Fail("a non-negative token id"),
        entry.Required("content", "the token text").GetString(),
        entry.OptionalBool("special") ?? false,
        entry.OptionalBool("lstrip") ?? false,
        entry.OptionalBool("rstrip") ?? false,
        entry.OptionalBool("single_word") ?? false);
}
