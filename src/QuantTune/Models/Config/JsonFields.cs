using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Models.Config;

/// <summary>Typed reads of JSON fields whose errors name the file, the field and what was expected.</summary>
internal readonly struct JsonFields(JsonElement obj, string file, string prefix = "")
{
    public JsonElement Element => obj;
    string Name(string key) => prefix + key;

    public bool Has(string key) => obj.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonFields? Object(string key)
    {
        if (!obj.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object)
            throw new InvalidFormatException(file, Name(key), $"is a JSON {v.ValueKind}; expected an object");
        return new JsonFields(v, file, Name(key) + ".");
    }

    public int Int(string key) => Has(key) ? IntValue(key) : throw Missing(key, "an integer");
    public int? OptionalInt(string key) => Has(key) ? IntValue(key) : null;

    int IntValue(string key)
    {
        var v = obj.GetProperty(key);
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
        throw new InvalidFormatException(file, Name(key), $"is {v.GetRawText()}; expected an integer");
    }

    public double? OptionalDouble(string key)
    {
        if (!Has(key)) return null;
        var v = obj.GetProperty(key);
        if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
        throw new InvalidFormatException(file, Name(key), $"is {v.GetRawText()}; expected a number");
    }

    public bool? OptionalBool(string key)
    {
        if (!Has(key)) return null;
        var v = obj.GetProperty(key);
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        throw new InvalidFormatException(file, Name(key), $"is {v.GetRawText()}; expected true or false");
    }

    public string String(string key) => OptionalString(key) ?? throw Missing(key, "a string");

    public string? OptionalString(string key)
    {
        if (!Has(key)) return null;
        var v = obj.GetProperty(key);
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        throw new InvalidFormatException(file, Name(key), $"is {v.GetRawText()}; expected a string");
    }

    /// <summary>An integer or an array of integers (as <c>eos_token_id</c> may be).</summary>
    public int[] IntOrIntArray(string key)
    {
        if (!Has(key)) return [];
        var v = obj.GetProperty(key);
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int one)) return [one];
        if (v.ValueKind == JsonValueKind.Array)
        {
            var result = new List<int>();
            foreach (var e in v.EnumerateArray())
                result.Add(e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int x) ? x
                    : throw new InvalidFormatException(file, Name(key), $"holds {e.GetRawText()}; expected integers"));
            return result.ToArray();
        }
        throw new InvalidFormatException(file, Name(key), $"is {v.GetRawText()}; expected an integer or an array of integers");
    }

    public InvalidFormatException Missing(string key, string expected) =>
        new(file, Name(key), $"is missing; expected {expected}");

    public InvalidFormatException Invalid(string key, string problem) => new(file, Name(key), problem);
}
