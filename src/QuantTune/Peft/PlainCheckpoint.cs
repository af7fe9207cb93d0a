using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.IO;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Lora;
using QuantTune.Quantization.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Peft;

/// <summary>
/// Writes a full-precision model (e.g. after <see cref="LoraModel.Merge"/>) as a plain Hugging
/// Face checkpoint folder that transformers and QuantTune load without PEFT: model.safetensors
/// in the source checkpoint's dtype, plus the source's config.json and tokenizer files.
/// </summary>
public static class PlainCheckpoint
{
    static readonly string[] CopiedFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>
    /// Writes <paramref name="model"/> into <paramref name="outDir"/>, built under a temporary name
    /// and renamed into place whole. Parameters are stored in the dtype of
    /// <paramref name="sourceDir"/>'s config.json (<c>torch_dtype</c>/<c>dtype</c>), fp32 when it names none.
    /// </summary>
    public static void SaveCheckpoint(CausalLM model, string sourceDir, string outDir)
    {
        if (LoraModel.Layers(model).Count > 0)
            throw new QuantTuneException("the model still has LoRA layers; merge them first (LoraModel.Merge) or save the adapter with AdapterIO.Save");
        if (model.named_modules().Any(m => m.module is QuantizedLinear))
            throw new QuantTuneException("the model has quantized layers; save it with QuantizedCheckpoint.Save");
        OutputFolder.RefuseSource(outDir, sourceDir);
        var stored = ModelConfig.Load(sourceDir).StoredDType;
        var dtype = stored is null ? ScalarType.Float32 : TorchRuntime.TryParseDType(stored)
            ?? throw new InvalidFormatException(Path.Combine(sourceDir, "config.json"), "torch_dtype", $"is '{stored}'; expected float32, bfloat16 or float16");
        AtomicDirectory.Write(outDir, dir =>
        {
            using var scope = NewDisposeScope();
            var entries = model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, Models.Loading.CheckpointLayout.ToCheckpoint(model.Config, p.name, p.parameter.detach().to_type(dtype))));
            SafetensorsWriter.Write(Path.Combine(dir, SafetensorsCheckpoint.SingleFile), entries.OrderBy(e => e.Key, StringComparer.Ordinal),
                new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var f in CopiedFiles.Where(f => File.Exists(Path.Combine(sourceDir, f))))
                File.Copy(Path.Combine(sourceDir, f), Path.Combine(dir, f));
            // A head untied by an adapter (modules_to_save: lm_head on a tied model) is saved as its own
            // lm_head.weight; config.json must say so, or loaders would tie it back to the embedding.
            if (model.lm_head is not null && model.Config.TieWordEmbeddings && File.Exists(Path.Combine(dir, "config.json")))
                Untie(Path.Combine(dir, "config.json"));
        });
    }

    static void Untie(string configFile)
    {
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configFile))!.AsObject();
        config["tie_word_embeddings"] = false;
        File.WriteAllText(configFile, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}
