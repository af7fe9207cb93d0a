using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.IO;
using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Gptq;
using QuantTune.Quantization.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Models;

/// <summary>
/// A quantized model as a Hugging Face checkpoint folder: config.json with a
/// <c>quantization_config</c> (bitsandbytes' for NF4/FP4, so transformers loads it; QuantTune's
/// own for the other schemes), model.safetensors with the quantized weights' entries and the
/// remaining parameters, and the tokenizer files.
/// </summary>
public static class QuantizedCheckpoint
{
    static readonly string[] CopiedFiles = ["tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"];

    public static void Save(nn.Module model, string sourceDirectory, string outputDirectory, ScalarType storedDType)
    {
        var quantized = model.named_modules().Where(m => m.module is QuantizedLinear).Select(m => (m.name, (QuantizedLinear)m.module)).ToList();
        if (quantized.Count == 0) throw new QuantTuneException("the model has no quantized layer to save");
        var first = quantized[0].Item2.Weight;
        var config = ReadConfig(sourceDirectory);
        config["quantization_config"] = QuantizationConfig(first, storedDType);
        using var scope = NewDisposeScope();
        var entries = new List<KeyValuePair<string, Tensor>>();
        var layout = (model as QuantTune.Models.Transformer.CausalLM)?.Config;
        foreach (var (name, p) in model.named_parameters())
            entries.Add(new(name, layout is null ? p.detach().to_type(storedDType) : QuantTune.Models.Loading.CheckpointLayout.ToCheckpoint(layout, name, p.detach().to_type(storedDType))));
        // A quantized Conv1D is stored as a Linear's ([out, in], packed), as transformers' bitsandbytes integration quantizes it.
        foreach (var (name, layer) in quantized)
            entries.AddRange(QuantizedTensorStorage.Entries(name + ".weight", layer.Weight));
        WriteFolder(sourceDirectory, outputDirectory, config, entries);
    }

    /// <summary>
    /// Before the work: refuses an output folder that <see cref="Save"/> (or GPTQ's, with its
    /// <paramref name="extraFiles"/>) could not write: the source folder, a path that cannot be created or written,
    /// or an existing folder holding files this output would not replace.
    /// </summary>
    public static void CheckOutput(string sourceDirectory, string outputDirectory, params string[] extraFiles)
    {
        OutputFolder.RefuseSource(outputDirectory, sourceDirectory);
        AtomicDirectory.CheckReplaceable(outputDirectory,
            [SafetensorsCheckpoint.SingleFile, "config.json", .. extraFiles, .. CopiedFiles.Where(f => File.Exists(Path.Combine(sourceDirectory, f)))]);
    }

    /// <summary>config.json of a checkpoint folder as a JSON object.</summary>
    internal static JsonObject ReadConfig(string directory)
    {
        var path = Path.Combine(directory, "config.json");
        if (!File.Exists(path)) throw new QuantTuneException($"{path}: config.json not found; expected a Hugging Face checkpoint folder");
        using var doc = JsonFile.ReadObject(path);
        return JsonObject.Create(doc.RootElement.Clone())!;
    }

    /// <summary>
    /// Writes a checkpoint folder atomically: model.safetensors with <paramref name="entries"/> (in
    /// name order), <paramref name="config"/> as config.json, any <paramref name="extraJson"/> files,
    /// and the tokenizer files of <paramref name="sourceDirectory"/>.
    /// </summary>
    internal static void WriteFolder(string sourceDirectory, string outputDirectory, JsonObject config, IEnumerable<KeyValuePair<string, Tensor>> entries,
        IReadOnlyDictionary<string, JsonObject>? extraJson = null)
    {
        OutputFolder.RefuseSource(outputDirectory, sourceDirectory);
        AtomicDirectory.Write(outputDirectory, dir =>
        {
            SafetensorsWriter.Write(Path.Combine(dir, SafetensorsCheckpoint.SingleFile), entries.OrderBy(e => e.Key, StringComparer.Ordinal),
                new Dictionary<string, string> { ["format"] = "pt", ["quantized_by"] = "QuantTune" });
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new() { WriteIndented = true }));
            foreach (var (file, json) in extraJson ?? new Dictionary<string, JsonObject>())
                File.WriteAllText(Path.Combine(dir, file), json.ToJsonString(new() { WriteIndented = true }));
            foreach (var f in CopiedFiles.Where(f => File.Exists(Path.Combine(sourceDirectory, f))))
                File.Copy(Path.Combine(sourceDirectory, f), Path.Combine(dir, f));
        });
    }

    static JsonObject QuantizationConfig(QuantizedTensor example, ScalarType storedDType)
    {
        if (example is FourBitTensor fb)
            return new JsonObject
            {
                ["quant_method"] = "bitsandbytes",
                ["load_in_4bit"] = true,
                ["load_in_8bit"] = false,
                ["bnb_4bit_quant_type"] = FourBitCodebooks.Name(fb.Type),
                ["bnb_4bit_use_double_quant"] = fb.Nested is not null,
                ["bnb_4bit_compute_dtype"] = storedDType == ScalarType.Float32 ? "float32" : TorchRuntime.Name(storedDType) == "bf16" ? "bfloat16" : "float16",
                ["bnb_4bit_quant_storage"] = "uint8",
                ["llm_int8_skip_modules"] = new JsonArray("lm_head"),
                ["blocksize"] = fb.BlockSize,
            };
        return new JsonObject { ["quant_method"] = "quanttune", ["scheme"] = example.Scheme };
    }

    /// <summary>
    /// Whether a checkpoint folder is quantized, from its config.json: bitsandbytes 4-bit, GPTQ
    /// (AutoGPTQ / transformers layout) and QuantTune's own schemes are supported; bitsandbytes
    /// 8-bit (LLM.int8) and others are refused.
    /// </summary>
    public static bool IsQuantized(string directory)
    {
        var path = Path.Combine(directory, "config.json");
        if (QuantizationConfig(path) is not { } q) return false;
        var method = q.OptionalString("quant_method");
        if (method == "bitsandbytes" && q.OptionalBool("load_in_4bit") == true) return true;
        if (method == "quanttune") return true;
        // gpt-oss's Hub checkpoints: the experts as MXFP4 blocks and scales, dequantized as they are read (Models.Loading.InterleavedExperts)
        if (method == "mxfp4") return false;
        if (method == "gptq") return GptqCheckpoint.ReadLayout(directory) is not null;
        throw q.Invalid("quant_method",
            $"'{method}'" + (method == "bitsandbytes" ? " with load_in_8bit" : "") + " is not supported; expected bitsandbytes 4-bit (nf4/fp4), gptq, mxfp4 (gpt-oss's experts) or a QuantTune scheme");
    }

    /// <summary>The <c>quantization_config</c> object of the config.json at <paramref name="path"/>, or null when it has none.</summary>
    internal static JsonField? QuantizationConfig(string path)
    {
        using var doc = JsonFile.ReadObject(path);
        return new JsonField(path, doc.RootElement.Clone()).Object("quantization_config");
    }

    /// <summary>Puts a <see cref="QuantizedLinear"/> in place of every linear layer the checkpoint stores quantized.</summary>
    public static IReadOnlyList<string> ReplaceQuantizedLayers(nn.Module model, SafetensorsCheckpoint checkpoint)
    {
        var gptq = GptqCheckpoint.ReadLayout(checkpoint.Directory);
        // The linears taken out of the model; disposed whether or not every layer loads (on an error
        // the caller disposes the model, which holds the layers already put in).
        var replaced = new List<Linear>();
        try
        {
            return ModuleSurgery.ReplaceLinears(model, (path, linear) =>
            {
                var weight = LoadWeight(checkpoint, path, linear, gptq);
                if (weight is null) return null;
                Tensor? bias = null;
                try
                {
                    if (!weight.Shape.SequenceEqual(linear.weight.shape))
                        throw new InvalidFormatException(checkpoint.Source, path + ".weight", $"is stored as [{string.Join(", ", weight.Shape)}]; the model built from {Path.Combine(checkpoint.Directory, "config.json")} expects [{string.Join(", ", linear.weight.shape)}]");
                    if (linear.bias is not null)
                    {
                        bias = empty(linear.bias.shape, linear.bias.dtype);
                        checkpoint.Load(path + ".bias", bias);
                    }
                }
                catch
                {
                    weight.Dispose();
                    bias?.Dispose();
                    throw;
                }
                replaced.Add(linear);
                var layer = new QuantizedLinear(weight, bias);
                bias?.Dispose();
                return layer;
            });
        }
        finally
        {
            foreach (var old in replaced) old.Dispose();
        }
    }

    static QuantizedTensor? LoadWeight(SafetensorsCheckpoint checkpoint, string path, Linear linear, GptqLayout? gptq) =>
        gptq is not null && checkpoint.Contains(path + ".qweight") ? GptqCheckpoint.Load(checkpoint, path, linear.OutFeatures, linear.InFeatures, gptq)
        : QuantizedTensorStorage.IsQuantized(checkpoint, path + ".weight") ? QuantizedTensorStorage.Load(checkpoint, path + ".weight")
        : null;
}
