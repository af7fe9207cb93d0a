using QuantTune.IO;
using System.Text.Json;

namespace QuantTune.Tokenization;

/// <summary>Reads a JSON file, turning a missing file or malformed JSON into <see cref="TokenizerFormatException"/>.</summary>
internal static class HfJson
{
    public static JsonField Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new TokenizerFormatException(path, "file not found; expected a Hugging Face tokenizer file");
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = new JsonField(path, document.RootElement.Clone(), (file, field, problem) => new TokenizerFormatException(file, field, problem, null));
            return root.Element.ValueKind == JsonValueKind.Object ? root : throw new TokenizerFormatException(path, "the top-level value is not a JSON object; expected an object");
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, $"invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine}; expected a JSON object", e);
        }
    }
}
