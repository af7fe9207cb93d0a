using QuantTune.IO;
using System.Text.Json;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>bos_token</c>, <c>eos_token</c>, <c>pad_token</c> and <c>unk_token</c> from a tokenizer_config.json;
/// each may be a string or an object with <c>content</c>. All null when the file does not exist.
/// </summary>
internal sealed record SpecialTokenNames(string? Bos, string? Eos, string? Pad, string? Unk)
{
    public static SpecialTokenNames Read(string configPath)
    {
        if (!File.Exists(configPath))
        {
            return new SpecialTokenNames(null, null, null, null);
        }

        JsonField root = HfJson.Load(configPath);
        return new SpecialTokenNames(Name(root, "bos_token"), Name(root, "eos_token"), Name(root, "pad_token"), Name(root, "unk_token"));
    }

    private static string? Name(JsonField root, string field)
    {
        return root.Optional(field) is not { } value ? null
            : value.Element.ValueKind == JsonValueKind.String ? value.GetString()
            : value.Required("content", "the token text").GetString();
    }
}
