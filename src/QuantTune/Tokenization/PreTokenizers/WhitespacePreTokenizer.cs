using QuantTune.IO;
using System.Globalization;

namespace QuantTune.Tokenization;

/// <summary>
/// <c>Whitespace</c>: tokenizers' <c>\w+|[^\w\s]+</c> with white space dropped, that is runs of word characters
/// and runs of other non-space characters. A word character is Rust regex's Unicode <c>\w</c>: Alphabetic
/// (letters, letter numbers, and the circled and squared Latin letters that are Other_Alphabetic), marks,
/// decimal digits, connector punctuation and the two joiners.
/// </summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    public string Type => "Whitespace";

    public void Add(JsonField node, PreTokenizerPipeline pipeline) => pipeline.Add(Split);

    private static List<Piece> Split(Piece piece)
    {
        string s = piece.Text;
        var pieces = new List<Piece>();
        int start = 0;
        int runClass = 0;
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
        {
            int c = Classify(s, i);
            if (c != runClass)
            {
                if (runClass != 0)
                {
                    pieces.Add(new Piece(s[start..i], piece.AtTextStart && start == 0));
                }

                start = i;
                runClass = c;
            }
        }

        if (runClass != 0)
        {
            pieces.Add(new Piece(s[start..], piece.AtTextStart && start == 0));
        }

        return pieces;
    }

    /// <summary>0 for white space, 1 for a word character, 2 for anything else.</summary>
    private static int Classify(string s, int i)
    {
        if (char.IsWhiteSpace(s, i))
        {
            return 0;
        }

        int codePoint = char.ConvertToUtf32(s, i);
        return IsWord(codePoint, CharUnicodeInfo.GetUnicodeCategory(codePoint)) ? 1 : 2;
    }

    private static bool IsWord(int codePoint, UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => true,
        _ => codePoint is 0x200C or 0x200D
            or (>= 0x24B6 and <= 0x24E9)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189),
    };
}
