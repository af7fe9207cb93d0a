using QuantTune.IO;
using System.Globalization;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>StripAccents</c>: every combining mark (general category Mn, Mc or Me) removed. It decomposes nothing:
/// tokenizer.json puts an <c>NFD</c> or <c>NFKD</c> before it to separate accents from their letters.
/// </summary>
internal sealed class StripAccentsNormalizer : INormalizer
{
    public string Type => "StripAccents";

    public Func<string, string> Create(JsonField node) => Strip;

    private static string Strip(string s)
    {
        var result = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
        {
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(s, i);
            if (category is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark))
            {
                result.Append(s, i, char.IsSurrogatePair(s, i) ? 2 : 1);
            }
        }

        return result.ToString();
    }
}
