namespace QuantTune.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character mapping: printable bytes map to themselves, the rest to U+0100 and up
/// (so the space byte becomes 'Ġ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte =
        ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    /// <summary>The byte-level form of <paramref name="text"/>: its UTF-8 bytes, each mapped to one character.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++)
            {
                chars[i] = ByteToChar[b[i]];
            }
        });
    }

    /// <summary>Appends the bytes a byte-level token stands for; false (nothing appended) if it has a character outside the alphabet.</summary>
    public static bool TryAppendBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
        {
            if (!CharToByte.ContainsKey(c))
            {
                return false;
            }
        }

        foreach (char c in token)
        {
            bytes.Add(CharToByte[c]);
        }

        return true;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
