using QuantTune.IO;
using System.Globalization;
using System.Text;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>BertNormalizer</c>, in tokenizers' order: <c>clean_text</c> drops NUL, U+FFFD and control and format
/// characters (keeping tab, newline and carriage return) and turns white space into plain spaces;
/// <c>handle_chinese_chars</c> puts a space on each side of every CJK ideograph; <c>strip_accents</c> (by default
/// what <c>lowercase</c> is) decomposes (NFD) and drops non-spacing marks; <c>lowercase</c> lowercases.
/// </summary>
internal sealed class BertNormalizer : INormalizer
{
    public string Type => "BertNormalizer";

    public Func<string, string> Create(JsonField node)
    {
        bool cleanText = node.OptionalBool("clean_text") ?? true;
        bool chinese = node.OptionalBool("handle_chinese_chars") ?? true;
        bool lowercase = node.OptionalBool("lowercase") ?? true;
        bool stripAccents = node.OptionalBool("strip_accents") ?? lowercase;
        return s =>
        {
            if (cleanText)
            {
                s = Map(s, c => c == 0 || c == 0xFFFD || IsControl(c) ? "" : IsWhiteSpace(c) ? " " : null);
            }

            if (chinese)
            {
                s = Map(s, c => IsChinese(c) ? $" {char.ConvertFromUtf32(c)} " : null);
            }

            if (stripAccents)
            {
                s = Map(s.Normalize(NormalizationForm.FormD), c => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark ? "" : null);
            }

            return lowercase ? LowercaseNormalizer.Lower(s) : s;
        };
    }

    /// <summary>Each code point to <paramref name="replace"/>'s text, or kept where it gives null.</summary>
    private static string Map(string s, Func<int, string?> replace)
    {
        var result = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
        {
            int c = char.IsSurrogatePair(s, i) ? char.ConvertToUtf32(s, i) : s[i];
            if (replace(c) is { } text)
            {
                result.Append(text);
            }
            else
            {
                result.Append(s, i, char.IsSurrogatePair(s, i) ? 2 : 1);
            }
        }

        return result.ToString();
    }

    private static bool IsWhiteSpace(int c) => c is '\t' or '\n' or '\r' || (c < 0x10000 && char.IsWhiteSpace((char)c));

    /// <summary>Unicode category C (Cc, Cf, Cn, Co, Cs) but tab, newline and carriage return.</summary>
    private static bool IsControl(int c) => c is not ('\t' or '\n' or '\r') && CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;

    private static bool IsChinese(int c) =>
        c is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}
