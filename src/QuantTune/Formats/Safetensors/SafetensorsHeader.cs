using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Formats.Safetensors;

/// <summary>
/// Parses and validates a safetensors header: an 8-byte little-endian length, then that many
/// bytes of JSON mapping each tensor name to its dtype, shape and data_offsets, plus an optional
/// string map under <c>__metadata__</c>. Every check names the file and the field.
/// </summary>
public static class SafetensorsHeader
{
    /// <summary>Headers larger than this are refused before any allocation (the reference reader uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public sealed record Parsed(long DataStart, IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata);

    public static long ReadLength(ReadOnlySpan<byte> prefix, string file, long fileLength)
    {
        if (fileLength < 8)
            throw new InvalidFormatException(file, "header length", $"the file has {fileLength} bytes; a safetensors file starts with an 8-byte header length");
        ulong n = BitConverter.ToUInt64(prefix[..8]);
        if (n > (ulong)(fileLength - 8))
            throw new InvalidFormatException(file, "header length", $"{n} bytes is beyond the file ({fileLength} bytes in all): the file is truncated or is not safetensors");
        if ((long)n > MaxHeaderBytes)
            throw new InvalidFormatException(file, "header length", $"{n} bytes exceeds the {MaxHeaderBytes}-byte limit");
        if (n < 2)
            throw new InvalidFormatException(file, "header length", $"{n} bytes cannot hold a JSON object");
        return (long)n;
    }

    public static Parsed Parse(ReadOnlySpan<byte> json, string file, long fileLength)
    {
        long dataStart = 8 + json.Length;
        long dataSize = fileLength - dataStart;
        using (var doc = IO.JsonFile.ParseObject(json.ToArray(), file, "header"))
        {
            var tensors = new Dictionary<string, SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>();
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__") { ReadMetadata(entry.Value, file, metadata); continue; }
                tensors[entry.Name] = ReadTensor(entry.Name, entry.Value, file, dataSize);
            }
            CheckNoOverlap(tensors.Values, file);
            return new Parsed(dataStart, tensors, metadata);
        }
    }

    static void ReadMetadata(JsonElement value, string file, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidFormatException(file, "__metadata__", $"is a JSON {value.ValueKind}; expected an object of strings");
        foreach (var kv in value.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String)
                throw new InvalidFormatException(file, $"__metadata__.{kv.Name}", $"is a JSON {kv.Value.ValueKind}; expected a string");
            metadata[kv.Name] = kv.Value.GetString()!;
        }
    }

    static SafetensorsTensorInfo ReadTensor(string name, JsonElement value, string file, long dataSize)
    {
        string F(string field) => $"{name}.{field}";
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidFormatException(file, name, $"is a JSON {value.ValueKind}; expected an object with dtype, shape and data_offsets");
        if (!value.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidFormatException(file, F("dtype"), "is missing; expected a string such as \"F32\"");
        if (!SafetensorsDTypes.TryParse(dt.GetString()!, out var dtype))
            throw new InvalidFormatException(file, F("dtype"), $"'{dt.GetString()}' is not a supported dtype; expected one of {SafetensorsDTypes.Names}");
        var shape = ReadIntegers(value, "shape", name, file, expectedCount: null);
        var offsets = ReadIntegers(value, "data_offsets", name, file, expectedCount: 2);
        long begin = offsets[0], end = offsets[1];
        if (begin > end)
            throw new InvalidFormatException(file, F("data_offsets"), $"[{begin}, {end}] ends before it begins");
        if (end > dataSize)
            throw new InvalidFormatException(file, F("data_offsets"), $"[{begin}, {end}] is beyond the data section ({dataSize} bytes): the file is truncated or the header is wrong");
        var info = new SafetensorsTensorInfo(name, dtype, shape, begin, end);
        long expected;
        // Checked all the way: an element count that wraps past 2^63 could otherwise match the span.
        try { expected = checked(shape.Aggregate(1L, (a, d) => checked(a * d)) * dtype.SizeOf()); }
        catch (OverflowException) { throw new InvalidFormatException(file, F("shape"), $"[{string.Join(", ", shape)}] is too large"); }
        if (expected != info.ByteLength)
            throw new InvalidFormatException(file, F("shape"), $"[{string.Join(", ", shape)}] of {dtype} needs {expected} bytes, but data_offsets [{begin}, {end}] span {info.ByteLength}");
        return info;
    }

    static long[] ReadIntegers(JsonElement value, string field, string name, string file, int? expectedCount)
    {
        string what = expectedCount == 2 ? "an array [begin, end] of non-negative integers" : "an array of non-negative integers";
        if (!value.TryGetProperty(field, out var arr) || arr.ValueKind != JsonValueKind.Array)
            throw new InvalidFormatException(file, $"{name}.{field}", $"is missing; expected {what}");
        var result = new List<long>();
        foreach (var e in arr.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
                throw new InvalidFormatException(file, $"{name}.{field}", $"holds {e.GetRawText()}; expected {what}");
            result.Add(v);
        }
        if (expectedCount is int c && result.Count != c)
            throw new InvalidFormatException(file, $"{name}.{field}", $"has {result.Count} values; expected {what}");
        return result.ToArray();
    }

    static void CheckNoOverlap(IEnumerable<SafetensorsTensorInfo> tensors, string file)
    {
        SafetensorsTensorInfo? previous = null;
        foreach (var t in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin))
        {
            if (previous is not null && t.Begin < previous.End)
                throw new InvalidFormatException(file, $"{t.Name}.data_offsets",
                    $"[{t.Begin}, {t.End}] overlaps '{previous.Name}' [{previous.Begin}, {previous.End}]");
            previous = t;
        }
    }
}
