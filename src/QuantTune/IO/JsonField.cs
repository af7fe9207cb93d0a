using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.IO;

/// <summary>
/// A JSON value together with the file and the dotted field path it came from, so that every typed
/// read fails with an <see cref="InvalidFormatException"/> ("FILE: field 'a.b': is ...; expected ...").
/// A reader may pass its own exception type (a subclass of <see cref="InvalidFormatException"/>)
/// through <c>error</c>; every field reached from the root throws that type.
/// </summary>
internal readonly struct JsonField
{
    readonly Func<string, string?, string, InvalidFormatException>? _error;

    public JsonField(string file, JsonElement element, Func<string, string?, string, InvalidFormatException>? error = null)
        : this(file, "", element, error) { }

    JsonField(string file, string path, JsonElement element, Func<string, string?, string, InvalidFormatException>? error)
    {
        File = file;
        Path = path;
        Element = element;
        _error = error;
    }

    public string File { get; }

    /// <summary>The dotted path from the root ("" for the root itself).</summary>
    public string Path { get; }

    public JsonElement Element { get; }

    // ---- navigation ----

    /// <summary>The named property, or null when it is absent or JSON null. This value must be an object.</summary>
    public JsonField? Optional(string name)
    {
        if (Element.ValueKind != JsonValueKind.Object) throw Fail("a JSON object");
        return Element.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? Child(Join(name), value)
            : null;
    }

    /// <summary>The named property; missing or null is an error saying what was <paramref name="expected"/>.</summary>
    public JsonField Required(string name, string expected) => Optional(name) ?? throw Missing(name, expected);

    public bool Has(string name) => Optional(name) is not null;

    public IEnumerable<JsonField> Items()
    {
        if (Element.ValueKind != JsonValueKind.Array) throw Fail("a JSON array");
        var self = this;
        return Element.EnumerateArray().Select((item, i) => self.Child($"{self.Path}[{i}]", item));
    }

    public IEnumerable<(string Name, JsonField Value)> Properties()
    {
        if (Element.ValueKind != JsonValueKind.Object) throw Fail("a JSON object");
        var self = this;
        return Element.EnumerateObject().Select(p => (p.Name, self.Child(self.Join(p.Name), p.Value)));
    }

    // ---- this value, typed ----

    public string GetString() => Element.ValueKind == JsonValueKind.String ? Element.GetString()! : throw Fail("a string");

    public int GetInt32() =>
        Element.ValueKind == JsonValueKind.Number && Element.TryGetInt32(out int value) ? value : throw Fail("an integer");

    public double GetDouble() => Element.ValueKind == JsonValueKind.Number ? Element.GetDouble() : throw Fail("a number");

    public bool GetBoolean() => Element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Fail("true or false"),
    };

    /// <summary>This value, which must be an object.</summary>
    public JsonField AsObject() => Element.ValueKind == JsonValueKind.Object ? this : throw Fail("an object");

    // ---- a named property, typed (absent or null: the default, or an error when required) ----

    public JsonField? Object(string name) => Optional(name)?.AsObject();
    public string String(string name) => Required(name, "a string").GetString();
    public string? OptionalString(string name) => Optional(name)?.GetString();
    public int Int(string name) => Required(name, "an integer").GetInt32();
    public int? OptionalInt(string name) => Optional(name)?.GetInt32();
    public double? OptionalDouble(string name) => Optional(name)?.GetDouble();
    public bool? OptionalBool(string name) => Optional(name)?.GetBoolean();

    /// <summary>An integer or an array of integers (as <c>eos_token_id</c> may be); absent is empty.</summary>
    public int[] IntOrIntArray(string name)
    {
        if (Optional(name) is not { } v) return [];
        if (v.Element.ValueKind == JsonValueKind.Array) return v.Items().Select(i => i.GetInt32()).ToArray();
        return v.Element.ValueKind == JsonValueKind.Number ? [v.GetInt32()] : throw v.Fail("an integer or an array of integers");
    }

    // ---- errors ----

    /// <summary>An exception saying this value holds something other than <paramref name="expected"/>.</summary>
    public InvalidFormatException Fail(string expected) => Error(Path, $"is {Describe(Element)}; expected {expected}");

    /// <summary>An exception saying the named property is absent.</summary>
    public InvalidFormatException Missing(string name, string expected) => Error(Join(name), $"is missing; expected {expected}");

    /// <summary>An exception about the named property with a free-form <paramref name="problem"/>.</summary>
    public InvalidFormatException Invalid(string name, string problem) => Error(Join(name), problem);

    /// <summary>An exception about this value with a free-form <paramref name="problem"/>.</summary>
    public InvalidFormatException Invalid(string problem) => Error(Path, problem);

    InvalidFormatException Error(string path, string problem)
    {
        string? field = path.Length == 0 ? null : path;
        return _error is null ? new InvalidFormatException(File, field, problem) : _error(File, field, problem);
    }

    static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"'{e.GetString()}'",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => e.GetRawText(),
    };

    JsonField Child(string path, JsonElement value) => new(File, path, value, _error);

    string Join(string name) => Path.Length == 0 ? name : $"{Path}.{name}";
}
