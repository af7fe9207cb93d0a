using System.Text.Json;
using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.IO;
using static TorchSharp.torch;

namespace QuantTune.Peft.Common;

/// <summary>
/// The two files of a PEFT adapter folder, as Hugging Face PEFT writes them:
/// <c>adapter_config.json</c> (with <c>peft_type</c>) and <c>adapter_model.safetensors</c>.
/// Writing goes through a temporary folder renamed into place; reading checks the peft_type,
/// that every expected tensor is present with the expected shape, and that nothing else is.
/// </summary>
public static class PeftFiles
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes both files into <paramref name="outDir"/> atomically (the folder appears whole or not at all).</summary>
    public static void Write(string outDir, JsonObject config, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        using var scope = NewDisposeScope();
        var cpu = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous(), StringComparer.Ordinal);
        string json = config.ToJsonString(Indented);
        AtomicDirectory.Write(outDir, tmp =>
        {
            SafetensorsWriter.Write(Path.Combine(tmp, WeightsFile), cpu);
            File.WriteAllText(Path.Combine(tmp, ConfigFile), json);
        });
    }

    /// <summary>Reads adapter_config.json and checks its peft_type.</summary>
    public static JsonElement ReadConfig(string dir, string expectedPeftType)
    {
        var path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: not found (an adapter folder holds {ConfigFile} and {WeightsFile})");
        JsonElement root;
        using (var doc = IO.JsonFile.ReadObject(path)) root = doc.RootElement.Clone();
        var type = root.TryGetProperty("peft_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type is null) throw new InvalidFormatException(path, "peft_type", "missing; expected a string");
        if (type != expectedPeftType) throw new InvalidFormatException(path, "peft_type", $"is '{type}'; expected '{expectedPeftType}'");
        return root;
    }

    /// <summary>
    /// Copies the tensors of adapter_model.safetensors into <paramref name="destinations"/> (file key →
    /// parameter), converting the dtype. Every destination must be in the file with its shape, and
    /// the file must hold nothing else: a silently ignored tensor is a silently different model.
    /// </summary>
    public static void LoadTensors(string dir, IReadOnlyDictionary<string, Tensor> destinations)
    {
        var path = Path.Combine(dir, WeightsFile);
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: not found");
        using var file = SafetensorsFile.Open(path);
        var unexpected = file.Tensors.Keys.Where(k => !destinations.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new InvalidFormatException(path, unexpected[0], $"not a parameter of this adapter on this model ({unexpected.Count} unexpected tensor(s))");
        foreach (var (key, destination) in destinations)
        {
            if (!file.Tensors.TryGetValue(key, out var info))
                throw new InvalidFormatException(path, key, "missing");
            if (!info.Shape.SequenceEqual(destination.shape))
                throw new InvalidFormatException(path, key, $"has shape {Format(info.Shape)} in the file; the model with the adapter {Path.Combine(dir, ConfigFile)} describes expects {Format(destination.shape)}");
        }
        using var _ = no_grad();
        foreach (var (key, destination) in destinations)
        {
            using var scope = NewDisposeScope();
            destination.copy_(file.ToTensor(key, destination.dtype, destination.device));
        }
    }

    /// <summary>
    /// Runs the step that applies one field of adapter_config.json to the model (its target modules,
    /// its sizes). An error of that step that does not name the file, such as a target module the
    /// model lacks, is reported against adapter_config.json and the field.
    /// </summary>
    public static T Applying<T>(string dir, string field, Func<T> apply)
    {
        var path = Path.Combine(dir, ConfigFile);
        try { return apply(); }
        catch (QuantTuneException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidFormatException(path, field, e.Message, e);
        }
    }

    /// <summary>
    /// Refuses, by its field in adapter_config.json, a size that describes an adapter of more
    /// parameters than adapter_model.safetensors could hold at one byte each: such a number would
    /// otherwise size an allocation before the weights are read and found not to fit.
    /// </summary>
    public static void FitsWeights(string dir, string field, long value, Func<long> parameters)
    {
        var weights = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weights)) throw new QuantTuneException($"{weights}: not found");
        long count;
        try { count = parameters(); }
        catch (OverflowException) { count = long.MaxValue; }
        long bytes = new FileInfo(weights).Length;
        if (count > bytes)
            throw new InvalidFormatException(Path.Combine(dir, ConfigFile), field,
                $"is {value}, which describes {count:N0} adapter parameters; {weights} holds {bytes:N0} bytes");
    }

    public static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";

    static JsonField Config(JsonElement root, string dir) => new(Path.Combine(dir, ConfigFile), root);

    /// <summary>A required non-negative integer field.</summary>
    public static int Int(JsonElement root, string dir, string key)
    {
        var f = Config(root, dir);
        int i = f.Int(key);
        return i >= 0 ? i : throw f.Invalid(key, $"is {i}; expected a non-negative integer");
    }

    /// <summary>An optional string field.</summary>
    public static string? OptionalString(JsonElement root, string dir, string key) => Config(root, dir).OptionalString(key);

    /// <summary>A list of strings (PEFT also allows a single string, which is kept as one entry).</summary>
    public static IReadOnlyList<string> StringList(JsonElement root, string dir, string key)
    {
        if (Config(root, dir).Optional(key) is not { } v) return [];
        return v.Element.ValueKind switch
        {
            JsonValueKind.String => [v.GetString()],
            JsonValueKind.Array => v.Items().Select(e => e.GetString()).ToList(),
            _ => throw v.Fail("a list of strings"),
        };
    }

    /// <summary>A JSON array node of strings.</summary>
    public static JsonArray Array(IEnumerable<string> items) => new(items.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
}
