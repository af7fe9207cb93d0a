using System.Text;
using QuantTune.Diagnostics;

namespace QuantTune.Training.Data;

/// <summary>Reads data files as strict UTF-8, so a file in another encoding is reported, not silently mangled.</summary>
internal static class DataFile
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string ReadText(string path) => Strict.GetString(ReadBytes(path));

    /// <summary>The file's bytes without a UTF-8 byte-order mark, checked to be valid UTF-8.</summary>
    public static byte[] ReadBytes(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new QuantTuneException($"{path}: data file not found");
        }

        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
        {
            bytes = bytes[3..];
        }

        try
        {
            Strict.GetCharCount(bytes);
        }
        catch (DecoderFallbackException e)
        {
            int line = 1 + bytes.AsSpan(0, Math.Max(0, Math.Min(e.Index, bytes.Length))).Count((byte)'\n');
            throw new InvalidFormatException(path, null, $"line {line}: not valid UTF-8 (expected a UTF-8 text file)", e);
        }

        return bytes;
    }
}
