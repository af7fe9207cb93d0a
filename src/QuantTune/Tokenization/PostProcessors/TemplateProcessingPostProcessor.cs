using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>TemplateProcessing</c>: the <c>single</c> template's special tokens before and after the sequence, ids from <c>special_tokens</c>.</summary>
internal sealed class TemplateProcessingPostProcessor : IPostProcessorType
{
    public string Type => "TemplateProcessing";

    public void Add(JsonField node, List<int> prefix, List<int> suffix)
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
