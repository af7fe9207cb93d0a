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

        using JsonDocument document = JsonFile.ReadObject(path, (file, field, problem, inner) => new TokenizerFormatException(file, field, problem, inner));
        return new JsonField(path, document.RootElement.Clone(), (file, field, problem) => new TokenizerFormatException(file, field, problem, null));
    }
}
