using System.Text.Json;

namespace QuantTune.Tokenization;

/// <summary>
/// A JSON value together with the file and the dotted field path it came from, so that every
/// accessor can fail with a <see cref="TokenizerFormatException"/> that names both.
/// </summary>
internal readonly struct JsonField
{
    public JsonField(string file, string path, JsonElement element)
    {
        File = file;
        Path = path;
        Element = element;
    }

    public string File { get; }

    public string Path { get; }

    public JsonElement Element { get; }

    /// <summary>The named property; missing or null is an error.</summary>
    public JsonField Required(string name, string expected)
    {
        return Optional(name) ?? throw new TokenizerFormatException(File, $"field '{Child(name)}' is missing; expected {expected}");
    }

    /// <summary>The named property, or null when it is absent or JSON null.</summary>
    public JsonField? Optional(string name)
    {
        if (Element.ValueKind != JsonValueKind.Object)
        {
            throw Fail("a JSON object");
        }

        return Element.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? new JsonField(File, Child(name), value)
            : null;
    }

    public string GetString()
    {
        return Element.ValueKind == JsonValueKind.String ? Element.GetString()! : throw Fail("a string");
    }

    public int GetInt32()
    {
        return Element.ValueKind == JsonValueKind.Number && Element.TryGetInt32(out int value) ? value : throw Fail("a 32-bit integer");
    }

    public bool GetBoolean()
    {
        return Element.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Fail("true or false"),
        };
    }

    public string? OptionalString(string name) => Optional(name)?.GetString();

    public bool OptionalBoolean(string name, bool defaultValue) => Optional(name)?.GetBoolean() ?? defaultValue;

    public int OptionalInt32(string name, int defaultValue) => Optional(name)?.GetInt32() ?? defaultValue;

    public IEnumerable<JsonField> Items()
    {
        if (Element.ValueKind != JsonValueKind.Array)
        {
            throw Fail("a JSON array");
        }

        string file = File;
        string path = Path;
        return Element.EnumerateArray().Select((item, i) => new JsonField(file, $"{path}[{i}]", item));
    }

    public IEnumerable<(string Name, JsonField Value)> Properties()
    {
        if (Element.ValueKind != JsonValueKind.Object)
        {
            throw Fail("a JSON object");
        }

        string file = File;
        string path = Path;
        return Element.EnumerateObject().Select(p => (p.Name, new JsonField(file, $"{path}.{p.Name}", p.Value)));
    }

    /// <summary>An exception saying this field holds something other than <paramref name="expected"/>.</summary>
    public TokenizerFormatException Fail(string expected)
    {
        string actual = Element.ValueKind switch
        {
            JsonValueKind.String => $"'{Element.GetString()}'",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => Element.GetRawText(),
        };
        return new TokenizerFormatException(File, $"field '{Path}' is {actual}; expected {expected}");
    }

    private string Child(string name) => Path.Length == 0 ? name : $"{Path}.{name}";
}
