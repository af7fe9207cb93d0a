using QuantTune.IO;

namespace QuantTune.Tokenization;

/// <summary><c>FixedLength</c>: pieces of <c>length</c> characters (code points; default 5), the last one shorter.</summary>
internal sealed class FixedLengthPreTokenizer : IPreTokenizer
{
    public string Type => "FixedLength";

    public void Add(JsonField node, PreTokenizerPipeline pipeline)
    {
        int length = 5;
        if (node.Optional("length") is { } field)
        {
            length = field.GetInt32();
            if (length < 1)
            {
                throw field.Fail("a positive number of characters");
            }
        }

        pipeline.Add(piece => Chunks(piece.Text, length).Select((chunk, i) => new Piece(chunk, piece.AtTextStart && i == 0)));
    }

    private static List<string> Chunks(string s, int length)
    {
        var pieces = new List<string>();
        int start = 0;
        int count = 0;
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
        {
            if (count == length)
            {
                pieces.Add(s[start..i]);
                start = i;
                count = 0;
            }

            count++;
        }

        if (start < s.Length)
        {
            pieces.Add(s[start..]);
        }

        return pieces;
    }
}
