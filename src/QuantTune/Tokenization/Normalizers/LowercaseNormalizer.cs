using QuantTune.IO;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>Lowercase</c>: Rust's <c>char::to_lowercase</c> on each character, which is .NET's invariant lowercase
/// except for U+0130 (capital I with dot above), whose full lowercase mapping is two characters ("i\u0307").
/// </summary>
internal sealed class LowercaseNormalizer : INormalizer
{
    public string Type => "Lowercase";

    public Func<string, string> Create(JsonField node) => Lower;

    internal static string Lower(string s)
    {
        string lower = s.ToLowerInvariant();
        return lower.Contains('\u0130') ? lower.Replace("\u0130", "i\u0307", StringComparison.Ordinal) : lower;
    }
}
