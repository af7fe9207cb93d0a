using System.Text;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Quantization.FourBit;
using static TorchSharp.torch;

namespace QuantTune.Quantization;

/// <summary>
/// How a quantized weight is laid out in a safetensors checkpoint under its name (e.g.
/// <c>model.layers.0.mlp.up_proj.weight</c>): 4-bit weights exactly as bitsandbytes'
/// <c>Linear4bit</c> (<c>weight</c>, <c>weight.absmax</c>, …, <c>weight.quant_state.bitsandbytes__nf4</c>);
/// the other schemes the same way with their own constants and a
/// <c>weight.quant_state.quanttune</c> JSON state (scheme and metadata) stored as uint8.
/// </summary>
public static class QuantizedTensorStorage
{
    public const string QuantTuneStateKey = "quant_state.quanttune";
    const string BnbStatePrefix = "quant_state.bitsandbytes__";

    /// <summary>The checkpoint entries for <paramref name="weight"/> stored under <paramref name="name"/>.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> Entries(string name, QuantizedTensor weight)
    {
        foreach (var (suffix, t) in weight.Tensors)
            yield return new(suffix == "" ? name : $"{name}.{suffix}", t);
        if (weight is not FourBitTensor)
        {
            var state = new Dictionary<string, object> { ["scheme"] = weight.Scheme, ["shape"] = weight.Shape, ["metadata"] = weight.Metadata };
            yield return new($"{name}.{QuantTuneStateKey}", tensor(JsonSerializer.SerializeToUtf8Bytes(state)));
        }
    }

    /// <summary>Whether <paramref name="name"/> is stored quantized in the checkpoint.</summary>
    public static bool IsQuantized(SafetensorsCheckpoint checkpoint, string name) =>
        checkpoint.Names.Any(n => n.StartsWith(name + "." + BnbStatePrefix, StringComparison.Ordinal) || n == $"{name}.{QuantTuneStateKey}");

    /// <summary>Rebuilds the quantized weight stored under <paramref name="name"/>.</summary>
    public static QuantizedTensor Load(SafetensorsCheckpoint checkpoint, string name)
    {
        // Every entry read and every temporary made while rebuilding the weight belongs to this
        // scope until the weight is whole: a weight that fails to load leaves nothing behind, and no
        // tensor is left to the finalizer thread, which could free an intermediate (as in
        // a.to_type(t).cpu()) while libtorch is still working on it (fuzz/repros/bnb-4bit/afl-3-*).
        using var scope = NewDisposeScope();
        var weight = Rebuild(checkpoint, name);
        foreach (var t in weight.Tensors.Values) t.MoveToOuterDisposeScope();
        return weight;
    }

    static QuantizedTensor Rebuild(SafetensorsCheckpoint checkpoint, string name)
    {
        var prefix = name + ".";
        var entries = checkpoint.Names.Where(n => n == name || n.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(n => n == name ? "" : n[prefix.Length..], n => checkpoint.ToTensor(n));
        var where = $"{checkpoint.Source} ({name})";
        // The rebuilt tensor takes ownership of these entries (it may keep them as they are).
        if (entries.Keys.Any(k => k.StartsWith(BnbStatePrefix, StringComparison.Ordinal)))
            return FourBitTensor.FromStorage(entries, where);
        if (!entries.TryGetValue(QuantTuneStateKey, out var stateTensor))
            throw new InvalidFormatException(where, $"{name}.{QuantTuneStateKey}", "is missing; expected the quantization state of this weight");
        var (scheme, metadata) = ReadState(stateTensor, where, name);
        entries.Remove(QuantTuneStateKey);
        stateTensor.Dispose();
        return FromScheme(scheme, entries, metadata, where);
    }

    static (string Scheme, Dictionary<string, string> Metadata) ReadState(Tensor state, string where, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(state.bytes.ToArray()));
            var scheme = doc.RootElement.GetProperty("scheme").GetString()!;
            var metadata = doc.RootElement.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            return (scheme, metadata);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidFormatException(where, $"{name}.{QuantTuneStateKey}", $"is not a valid quantization state ({e.Message})", e);
        }
    }

    static QuantizedTensor FromScheme(string scheme, Dictionary<string, Tensor> entries, Dictionary<string, string> metadata, string where) =>
        scheme.StartsWith("int", StringComparison.Ordinal) ? Integer.IntegerQuantizedTensor.FromStorage(entries, metadata, where)
        : scheme.StartsWith("gptq-", StringComparison.Ordinal) ? Gptq.GptqTensor.FromStorage(entries, metadata, where)
        : throw new InvalidFormatException(where, "scheme", $"'{scheme}' is not a scheme this version can load");
}
