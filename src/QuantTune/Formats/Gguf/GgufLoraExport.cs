using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Peft;
using QuantTune.Peft.Lora;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Writes a PEFT LoRA adapter folder as a llama.cpp LoRA adapter GGUF, as convert_lora_to_gguf.py
/// does: <c>general.type = adapter</c>, <c>adapter.type = lora</c>, <c>adapter.lora.alpha</c>, the
/// base's architecture (llama), and per adapted weight <c>&lt;gguf name&gt;.lora_a</c> [r, in] and
/// <c>.lora_b</c> [out, r] (PyTorch order), lora_b of attn_q/attn_k with its rows permuted like the
/// base weight. llama.cpp scales each pair by alpha / r, r read from the tensor's shape. Only the
/// base model's config.json is read, not its weights.
/// </summary>
public static class GgufLoraExport
{
    public const string LoraA = ".lora_a", LoraB = ".lora_b";
    const string HfA = ".lora_A.weight", HfB = ".lora_B.weight";

    /// <summary>The tensor types an adapter can be written in (convert_lora_to_gguf.py's --outtype f32, f16).</summary>
    public static readonly IReadOnlyList<LlamaFileType> FileTypes = [LlamaFileType.F32, LlamaFileType.F16];

    public static void Write(string baseModel, string adapterFolder, string path, LlamaFileType fileType = LlamaFileType.F32)
    {
        if (!FileTypes.Contains(fileType))
            throw new ArgumentOutOfRangeException(nameof(fileType), fileType, $"a LoRA adapter is written as {string.Join(" or ", FileTypes)}");
        var config = ModelConfig.Load(baseModel);
        if (config.ModelType is not ("llama" or "mistral"))
            throw new NotSupportedException($"GGUF adapter export supports llama and mistral base models, not {config.ModelType}");
        IO.AtomicDirectory.RestoreIfMissing(adapterFolder);
        var configFile = Path.Combine(adapterFolder, AdapterConfig.FileName);
        if (!File.Exists(configFile)) throw new QuantTuneException($"{configFile}: not found; expected a PEFT LoRA adapter folder");
        var lora = AdapterConfig.Load(configFile) as LoraConfig
            ?? throw new InvalidFormatException(configFile, "peft_type", $"expected \"{LoraConfig.Type}\"; only LoRA adapters have a llama.cpp GGUF form");
        if (lora.UseDora) throw new InvalidFormatException(configFile, "use_dora", "true: llama.cpp adapters are plain LoRA; merge the DoRA adapter into its base model and export that instead");
        if (lora.UseRsLora) throw new InvalidFormatException(configFile, "use_rslora", "true: llama.cpp scales by alpha/r, not alpha/√r; merge the adapter into its base model and export that instead");
        if (lora.ModulesToSave is { Count: > 0 })
            throw new InvalidFormatException(configFile, "modules_to_save", $"[{string.Join(", ", lora.ModulesToSave)}]: a llama.cpp adapter holds only LoRA pairs, not whole modules; merge the adapter into its base model and export that instead");
        if (lora.AlphaPattern.Count > 0) throw new InvalidFormatException(configFile, "alpha_pattern", "is not empty: a llama.cpp adapter has one alpha; merge the adapter into its base model and export that instead");

        var weightsFile = Path.Combine(adapterFolder, AdapterIO.WeightsFile);
        if (!File.Exists(weightsFile)) throw new QuantTuneException($"{weightsFile}: adapter weights not found");
        using var file = SafetensorsFile.Open(weightsFile);
        if (file.Tensors.Keys.FirstOrDefault(k => k.Contains(".lora_embedding_", StringComparison.Ordinal)) is { } embedding)
            throw new InvalidFormatException(weightsFile, embedding, "is LoRA on the embedding, which convert_lora_to_gguf.py does not write; merge the adapter into its base model and export that instead");
        var type = fileType.DefaultType();
        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Of("llama"));
        w.Add("general.type", GgufValue.Of("adapter"));
        w.Add("general.name", GgufValue.Of(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(adapterFolder)))));
        w.Add("general.file_type", GgufValue.Of((uint)fileType));
        w.Add("general.quantization_version", GgufValue.Of(GgufExport.QuantizationVersion));
        w.Add("adapter.type", GgufValue.Of("lora"));
        w.Add("adapter.lora.alpha", GgufValue.Of((float)lora.LoraAlpha));
        var keys = file.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (var key in keys)
        {
            bool isA = key.EndsWith(HfA, StringComparison.Ordinal), isB = key.EndsWith(HfB, StringComparison.Ordinal);
            if ((!isA && !isB) || !key.StartsWith(AdapterIO.KeyPrefix, StringComparison.Ordinal))
                throw new InvalidFormatException(weightsFile, key, $"is not a LoRA tensor; expected {AdapterIO.KeyPrefix}<module path>{HfA} or {HfB}");
            string module = key[AdapterIO.KeyPrefix.Length..^HfA.Length];
            string partner = AdapterIO.KeyPrefix + module + (isA ? HfB : HfA);
            if (!file.Tensors.ContainsKey(partner)) throw new InvalidFormatException(weightsFile, partner, $"is missing; {key} needs its pair");
            string gguf = LlamaTensorNames.ToGguf(module + ".weight")
                ?? throw new InvalidFormatException(weightsFile, key, $"adapts '{module}', which has no llama.cpp tensor name");
            var shape = file.Info(key).Shape.ToArray();
            if (shape.Length != 2) throw new InvalidFormatException(weightsFile, key, $"has shape [{string.Join(", ", shape)}]; expected a matrix");
            // llama.cpp takes r from the tensor and scales by alpha / r: a config whose r differs from the weights'
            // would load there and scale differently from PEFT, so it is refused here.
            int rank = lora.RankOf(module);
            if ((isA ? shape[0] : shape[1]) != rank)
                throw new InvalidFormatException(configFile, lora.RankPattern.Count > 0 ? "rank_pattern" : "r",
                    $"gives {module} rank {rank}, but {key} in {weightsFile} has shape [{string.Join(", ", shape)}] (rank {(isA ? shape[0] : shape[1])}); expected the config the weights were trained with");
            using var t = file.ToTensor(key, ScalarType.Float32);
            float[] values = t.contiguous().data<float>().ToArray();
            if (isB && LlamaTensorNames.PermuteHeads(gguf, config.NumHeads, config.NumKvHeads) is int heads)
                values = LlamaRowPermutation.Permute(values, (int)shape[0], (int)shape[1], heads);
            w.AddTensor(gguf + (isA ? LoraA : LoraB), type, shape, values);
        }
        w.Write(path);
    }
}
