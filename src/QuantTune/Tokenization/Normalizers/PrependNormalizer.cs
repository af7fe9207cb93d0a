using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>Prepend</c>: <c>prepend</c> put before every non-empty segment.</summary>
internal sealed class PrependNormalizer : INormalizer
{
    public string Type => "Prepend";

    public Func<string, string> Create(JsonField node)
    {
        string prefix = node.Required("prepend", "the text to prepend").GetString();
        return s => s.Length == 0 ? s : prefix + s;
    }
}
