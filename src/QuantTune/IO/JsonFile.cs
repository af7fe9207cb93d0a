using System.Buffers;
using System.Text;
using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.IO;

/// <summary>
/// The one way a JSON file is read: its bytes checked to be UTF-8 first (System.Text.Json only
/// validates the bytes of a string when it is read, and then throws a bare InvalidOperationException),
/// then parsed, every problem an <see cref="InvalidFormatException"/> naming the file and where in it.
/// </summary>
internal static class JsonFile
{
    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Fails unless <paramref name="bytes"/> are UTF-8, naming the offset and line of the first bad byte.</summary>
    public static void CheckUtf8(ReadOnlySpan<byte> bytes, string file, string? field = null, Error? error = null)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return;
        var chars = ArrayPool<char>.Shared.Rent(bytes.Length);
        try
        {
            System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out int read, out _, replaceInvalidSequences: false);
            int line = 1 + bytes[..read].Count((byte)'\n');
            throw Fail(error, file, field, $"byte {read} (line {line}) is not valid UTF-8; expected UTF-8 JSON text", null);
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
    }

    /// <summary>Parses UTF-8 JSON; <paramref name="field"/> names where in <paramref name="file"/> the text came from, when it is embedded.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> bytes, string file, string? field = null, Error? error = null)
    {
        CheckUtf8(bytes.Span, file, field, error);
        try { return JsonDocument.Parse(bytes); }
        catch (JsonException e)
        {
            throw Fail(error, file, field, $"is not valid JSON (line {(e.LineNumber ?? 0) + 1}, byte {e.BytePositionInLine ?? 0}: {e.Message.Split(" LineNumber:")[0]})", e);
        }
    }

    /// <summary>Parses JSON whose root must be an object.</summary>
    public static JsonDocument ParseObject(ReadOnlyMemory<byte> bytes, string file, string? field = null, Error? error = null)
    {
        var doc = Parse(bytes, file, field, error);
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        var kind = doc.RootElement.ValueKind switch
        {
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            _ => doc.RootElement.GetRawText(),
        };
        doc.Dispose();
        throw Fail(error, file, field, $"is {kind}; expected a JSON object", null);
    }

    /// <summary>The JSON object in the file at <paramref name="path"/>.</summary>
    public static JsonDocument ReadObject(string path, Error? error = null) => ParseObject(File.ReadAllBytes(path), path, null, error);

    /// <summary>Makes a reader's own exception type (a subclass of <see cref="InvalidFormatException"/>) from file, field, problem and cause.</summary>
    public delegate InvalidFormatException Error(string file, string? field, string problem, Exception? inner);

    static InvalidFormatException Fail(Error? error, string file, string? field, string problem, Exception? inner) =>
        error?.Invoke(file, field, problem, inner) ?? new InvalidFormatException(file, field, problem, inner);

    /// <summary>The file's text, refused unless it is UTF-8 (for readers that deserialize from a string).</summary>
    public static string ReadText(string path)
    {
        var bytes = File.ReadAllBytes(path);
        CheckUtf8(bytes, path);
        return Strict.GetString(bytes);
    }
}
