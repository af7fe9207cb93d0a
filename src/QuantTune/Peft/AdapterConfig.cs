using System.Text.Json;
using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.IO;
using QuantTune.Models.Config;
using QuantTune.Peft.Lora;

namespace QuantTune.Peft;

/// <summary>
/// The fields every PEFT method's <c>adapter_config.json</c> shares. Fields QuantTune does not
/// model (PEFT writes dozens, most null) are kept in <see cref="Extra"/> and written back, so a
/// config read from PEFT round-trips.
/// </summary>
public abstract record AdapterConfig
{
    public const string FileName = "adapter_config.json";

    /// <summary>PEFT's method name: "LORA", "PREFIX_TUNING", ...</summary>
    public abstract string PeftType { get; }
    public string TaskType { get; init; } = "CAUSAL_LM";
    public string? BaseModelNameOrPath { get; init; }
    /// <summary>True in a saved adapter meant for inference; PEFT then freezes the adapter on load.</summary>
    public bool InferenceMode { get; init; }
    /// <summary>Fields of the file that this type does not model, kept for writing back.</summary>
    public JsonObject Extra { get; init; } = [];

    /// <summary>
    /// Reads <c>adapter_config.json</c> from an adapter folder (or the file itself) and returns
    /// the config of its <c>peft_type</c>; methods QuantTune does not implement are refused by name.
    /// </summary>
    public static AdapterConfig Load(string folderOrFile)
    {
        if (!folderOrFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) IO.AtomicDirectory.RestoreIfMissing(folderOrFile);
        var path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: adapter config not found (a PEFT adapter folder holds {FileName} and adapter_model.safetensors)");
        return Parse(JsonFile.ReadText(path), path);
    }

    public static AdapterConfig Parse(string json, string file = FileName)
    {
        JsonElement root;
        using (var doc = JsonFile.ParseObject(System.Text.Encoding.UTF8.GetBytes(json), file)) root = doc.RootElement.Clone();
        var f = new JsonField(file, root);
        var type = f.OptionalString("peft_type") ?? throw f.Missing("peft_type", "a PEFT method such as \"LORA\"");
        return type switch
        {
            LoraConfig.Type => LoraConfig.FromJson(root, file),
            _ => throw f.Invalid("peft_type", $"\"{type}\" is not supported; QuantTune loads PEFT adapters of type \"{LoraConfig.Type}\" (LoRA, rsLoRA, DoRA)"),
        };
    }

    /// <summary>The config as PEFT writes it: every field, keys in alphabetical order.</summary>
    public string ToJson()
    {
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (k, v) in Extra) fields[k] = v?.DeepClone();
        fields["peft_type"] = PeftType;
        fields["task_type"] = TaskType;
        fields["base_model_name_or_path"] = BaseModelNameOrPath;
        fields["inference_mode"] = InferenceMode;
        WriteFields(fields);
        var obj = new JsonObject();
        foreach (var (k, v) in fields) obj[k] = v;
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Writes <c>adapter_config.json</c> into <paramref name="folder"/> atomically.</summary>
    public void Save(string folder) => AtomicFile.WriteAllText(Path.Combine(folder, FileName), ToJson());

    /// <summary>Adds the method's own fields.</summary>
    protected abstract void WriteFields(IDictionary<string, JsonNode?> fields);
}
