using QuantTune.IO;
namespace QuantTune.Tokenization;

/// <summary>
/// The <c>post_processor</c> of tokenizer.json for single sequences: the special-token ids placed before and
/// after the encoded text. Supports null, TemplateProcessing, ByteLevel (adds nothing) and Sequence.
/// </summary>
internal sealed class PostProcessor
{
    private const string Supported = "one of TemplateProcessing, ByteLevel, Sequence, or null";

    private PostProcessor(int[] prefix, int[] suffix)
    {
        Prefix = prefix;
        Suffix = suffix;
    }

    public int[] Prefix { get; }

    public int[] Suffix { get; }

    public static PostProcessor Parse(JsonField? node)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (node is { } n)
        {
            Add(n, prefix, suffix);
        }

        return new PostProcessor(prefix.ToArray(), suffix.ToArray());
    }

    private static void Add(JsonField node, List<int> prefix, List<int> suffix)
    {
        JsonField type = node.Required("type", Supported);
        switch (type.GetString())
        {
            case "ByteLevel":
                break;
            case "Sequence":
                foreach (JsonField child in node.Required("processors", "a list of post-processors").Items())
                {
                    Add(child, prefix, suffix);
                }

                break;
            case "TemplateProcessing":
                AddTemplate(node, prefix, suffix);
                break;
            default:
                throw type.Fail(Supported);
        }
    }

    private static void AddTemplate(JsonField node, List<int> prefix, List<int> suffix)
    {
        JsonField specialTokens = node.Required("special_tokens", "an object describing the template's special tokens");
        bool afterSequence = false;
        foreach (JsonField piece in node.Required("single", "the single-sequence template").Items())
        {
            if (piece.Optional("Sequence") is not null)
            {
                afterSequence = true;
            }
            else if (piece.Optional("SpecialToken") is { } special)
            {
                string name = special.Required("id", "the special token's name").GetString();
                JsonField entry = specialTokens.Required(name, $"an entry for '{name}' used in the template");
                (afterSequence ? suffix : prefix).AddRange(entry.Required("ids", "the token's ids").Items().Select(i => i.GetInt32()));
            }
            else
            {
                throw piece.Fail("{\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
    }
}
