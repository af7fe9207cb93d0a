using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Formats.Safetensors;

/// <summary>
/// <c>model.safetensors.index.json</c>: its <c>weight_map</c> from tensor names to shard files, read once for the
/// loader and for the Hub download alike. A shard must be a plain file name: the index comes with a download, and
/// a path in it must not reach outside the model's folder.
/// </summary>
public static class ShardIndex
{
    /// <summary>The weight map of the index file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidFormatException">Malformed JSON, no weight_map object, a value that is not a file name.</exception>
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        using var doc = IO.JsonFile.ReadObject(path);
        if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidFormatException(path, "weight_map", "is missing; expected an object mapping tensor names to shard files");
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in map.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String)
                throw new InvalidFormatException(path, $"weight_map.{kv.Name}", $"is a JSON {kv.Value.ValueKind}; expected a shard file name");
            string shard = kv.Value.GetString()!;
            if (shard.Length == 0 || Path.GetFileName(shard) != shard || shard is "." or "..")
                throw new InvalidFormatException(path, "weight_map", $"names the shard '{shard}'; expected a file name inside the model's folder");
            weightMap[kv.Name] = shard;
        }
        return weightMap;
    }

    /// <summary>The distinct shard files, in ordinal order.</summary>
    public static IReadOnlyList<string> Shards(string path) => Read(path).Values.Distinct().Order(StringComparer.Ordinal).ToList();
}
