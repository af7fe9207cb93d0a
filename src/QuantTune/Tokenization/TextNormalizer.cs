using QuantTune.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace QuantTune.Tokenization;

/// <summary>One normalizer type of tokenizer.json: its JSON node to a string transform.</summary>
internal interface INormalizer : ITokenizerComponent
{
    Func<string, string> Create(JsonField node);
}

/// <summary>Builds the <c>normalizer</c> of tokenizer.json as a string transform applied to each non-added-token segment.</summary>
internal static class TextNormalizer
{
    /// <summary>Every normalizer type, one line each.</summary>
    public static readonly ComponentRegistry<INormalizer> Types = new(
        "normalizer",
        new SequenceNormalizer(),
        new PrependNormalizer(),
        new ReplaceNormalizer(),
        new UnicodeNormalizer("NFC", NormalizationForm.FormC),
        new UnicodeNormalizer("NFD", NormalizationForm.FormD),
        new UnicodeNormalizer("NFKC", NormalizationForm.FormKC),
        new UnicodeNormalizer("NFKD", NormalizationForm.FormKD),
        new LowercaseNormalizer(),
        new StripNormalizer(),
        new StripAccentsNormalizer(),
        new BertNormalizer(),
        new PrecompiledNormalizer());

    /// <summary>The transform, or null for <c>"normalizer": null</c>.</summary>
    public static Func<string, string>? Parse(JsonField? normalizer) => normalizer is { } n ? Create(n) : null;

    /// <summary>The transform of one normalizer node (of any registered type).</summary>
    public static Func<string, string> Create(JsonField node) => Types.Find(node).Create(node);

    /// <summary>A <c>Replace</c> step (<c>pattern</c> is <c>{"String": ...}</c> or <c>{"Regex": ...}</c>); also used by decoders.</summary>
    public static Func<string, string> ParseReplace(JsonField replace)
    {
        JsonField pattern = replace.Required("pattern", "{\"String\": ...} or {\"Regex\": ...}");
        string content = replace.Required("content", "the replacement text").GetString();
        if (pattern.OptionalString("String") is { } literal)
        {
            if (literal.Length == 0)
            {
                throw pattern.Invalid("String", "is empty; expected the text to replace");
            }

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
