using QuantTune.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>Builds the <c>normalizer</c> of tokenizer.json as a string transform applied to each non-added-token segment.</summary>
internal static class TextNormalizer
{
    private const string Supported = "one of Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD";

    /// <summary>The transform, or null for <c>"normalizer": null</c>.</summary>
    public static Func<string, string>? Parse(JsonField? normalizer)
    {
        if (normalizer is not { } n)
        {
            return null;
        }

        JsonField type = n.Required("type", Supported);
        switch (type.GetString())
        {
            case "Sequence":
                Func<string, string>[] steps = n.Required("normalizers", "a list of normalizers").Items().Select(i => Parse(i)!).ToArray();
                return s => steps.Aggregate(s, (acc, step) => step(acc));
            case "Prepend":
                string prefix = n.Required("prepend", "the text to prepend").GetString();
                return s => s.Length == 0 ? s : prefix + s;
            case "Replace":
                return ParseReplace(n);
            case "NFC":
                return s => s.Normalize(NormalizationForm.FormC);
            case "NFD":
                return s => s.Normalize(NormalizationForm.FormD);
            case "NFKC":
                return s => s.Normalize(NormalizationForm.FormKC);
            case "NFKD":
                return s => s.Normalize(NormalizationForm.FormKD);
            default:
                throw type.Fail(Supported);
        }
    }

    /// <summary>A <c>Replace</c> step (<c>pattern</c> is <c>{"String": ...}</c> or <c>{"Regex": ...}</c>); also used by decoders.</summary>
    public static Func<string, string> ParseReplace(JsonField replace)
    {
        JsonField pattern = replace.Required("pattern", "{\"String\": ...} or {\"Regex\": ...}");
        string content = replace.Required("content", "the replacement text").GetString();
        if (pattern.OptionalString("String") is { } literal)
        {
            return s => s.Replace(literal, content, StringComparison.Ordinal);
        }

        if (pattern.OptionalString("Regex") is { } regex)
        {
            Regex compiled = PreTokenizerPipeline.Compile(pattern, regex);
            return s => compiled.Replace(s, content.Replace("$", "$$", StringComparison.Ordinal));
        }

        throw pattern.Fail("{\"String\": ...} or {\"Regex\": ...}");
    }
}
