using QuantTune.IO;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary><c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>: Unicode normalization (.NET's <see cref="string.Normalize(NormalizationForm)"/>).</summary>
internal sealed class UnicodeNormalizer(string type, NormalizationForm form) : INormalizer
{
    public string Type => type;

    public Func<string, string> Create(JsonField node) => s => s.Normalize(form);
}
