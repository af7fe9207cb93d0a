using System.Text.Json;
using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.IO;

namespace QuantTune.Qat;

/// <summary>
/// The small JSON file that says which <see cref="QatSpec"/> a saved result belongs to, so that it is
/// never used on the wrong model silently. In an adapter folder (<see cref="AdapterFile"/>): the
/// adapter was trained on the base seen through this quantizer, and loading it applies the quantizer
/// to the base first. In a checkpoint folder (<see cref="CheckpointFile"/>): the weights were trained
/// with this QAT and hold its quantized values (BitNet b1.58: {−γ, 0, γ} per tensor).
/// PEFT and transformers ignore both files.
/// </summary>
public static class QatManifest
{
    public const string AdapterFile = "quanttune_base_quantization.json";
    public const string CheckpointFile = "quanttune_qat.json";

    public static void Save(string folder, string fileName, QatSpec spec)
    {
        var json = new JsonObject
        {
            ["qat"] = spec.Kind,
            ["activation_bits"] = spec.ActivationBits,
            ["block"] = spec.IsBitNet ? null : QatSpec.Block,
            ["full_precision_layers"] = new JsonArray(QatSpec.Head),
        };
        AtomicFile.WriteAllText(Path.Combine(folder, fileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The spec in <paramref name="folder"/>/<paramref name="fileName"/>, or null when the file is absent.</summary>
    public static QatSpec? Load(string folder, string fileName)
    {
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path)) return null;
        JsonObject o;
        using (var doc = JsonFile.ReadObject(path)) o = JsonObject.Create(doc.RootElement.Clone())!;
        if (o["qat"] is not JsonValue kind || !kind.TryGetValue(out string? name))
            throw new InvalidFormatException(path, "qat", $"expected a string, one of {QatSpec.Kinds}");
        int? bits = null;
        if (o["activation_bits"] is JsonValue b)
            bits = b.TryGetValue(out int v) ? v : throw new InvalidFormatException(path, "activation_bits", "expected an integer or null");
        try { _ = new QatSpec(name); }
        catch (QuantTuneException e) { throw new InvalidFormatException(path, "qat", e.Message); }
        try { return new QatSpec(name, name.Trim().ToLowerInvariant().StartsWith("bitnet") ? null : bits); }
        catch (QuantTuneException e) { throw new InvalidFormatException(path, "activation_bits", e.Message); }
    }
}
