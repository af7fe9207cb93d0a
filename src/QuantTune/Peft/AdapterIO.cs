using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models;
using QuantTune.Models.Transformer;
using QuantTune.Peft.Common;
using QuantTune.Peft.Lora;
using QuantTune.Qat;
using static TorchSharp.torch;

namespace QuantTune.Peft;

/// <summary>
/// Reads and writes adapter folders as PEFT does: <c>adapter_config.json</c> and
/// <c>adapter_model.safetensors</c> with keys <c>base_model.model.&lt;module path&gt;.lora_A.weight</c>,
/// <c>.lora_B.weight</c> and (DoRA) <c>.lora_magnitude_vector</c>, without the adapter name
/// ("default") that PEFT's modules carry internally.
/// </summary>
public static class AdapterIO
{
    public const string WeightsFile = "adapter_model.safetensors";
    public const string KeyPrefix = "base_model.model.";
    const string A = ".lora_A.weight", B = ".lora_B.weight", Magnitude = ".lora_magnitude_vector";
    const string EmbeddingA = ".lora_embedding_A", EmbeddingB = ".lora_embedding_B";

    /// <summary>
    /// Writes the model's LoRA layers and <paramref name="config"/> into <paramref name="folder"/>,
    /// which appears whole or not at all (<see cref="IO.AtomicDirectory"/>: an existing folder is
    /// replaced only when it holds nothing but an adapter's files). With
    /// <paramref name="quantizedBase"/> (QAT with LoRA) the folder also records the quantization the
    /// adapter's base must be seen through (<see cref="QatManifest.AdapterFile"/>), which
    /// <see cref="Load"/> applies.
    /// </summary>
    public static void Save(CausalLM model, LoraConfig config, string folder, QatSpec? quantizedBase = null)
    {
        var layers = LoraModel.Layers(model);
        var embeddings = LoraModel.Embeddings(model);
        if (layers.Count == 0 && embeddings.Count == 0) throw new QuantTuneException("the model has no LoRA layers to save");
        using var scope = NewDisposeScope();
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (var (path, lora) in layers)
        {
            entries.Add(new(KeyPrefix + path + A, lora.lora_A.weight.detach()));
            entries.Add(new(KeyPrefix + path + B, lora.lora_B.weight.detach()));
            if (lora.lora_magnitude_vector is { } m) entries.Add(new(KeyPrefix + path + Magnitude, m.detach()));
        }
        foreach (var (path, lora) in embeddings)
        {
            entries.Add(new(KeyPrefix + path + EmbeddingA, lora.lora_embedding_A.detach()));
            entries.Add(new(KeyPrefix + path + EmbeddingB, lora.lora_embedding_B.detach()));
        }
        entries.AddRange(ModulesToSave.Entries(model, ModulesToSave.Resolve(config.ModulesToSave)));
        IO.AtomicDirectory.Write(folder, dir =>
        {
            SafetensorsWriter.Write(Path.Combine(dir, WeightsFile), entries.OrderBy(e => e.Key, StringComparer.Ordinal),
                new Dictionary<string, string> { ["format"] = "pt" });
            if (quantizedBase is not null) QatManifest.Save(dir, QatManifest.AdapterFile, quantizedBase);
            config.Save(dir);
        }, formatFiles: [QatManifest.AdapterFile]); // an earlier QAT adapter's manifest is dropped: it would put the wrong base under this one
    }

    /// <summary>
    /// Loads a PEFT LoRA adapter folder onto <paramref name="model"/>: wraps the config's targets
    /// and copies the weights. Every key and shape is checked before the model changes. The
    /// adapter is frozen unless <paramref name="trainable"/> (PEFT's <c>is_trainable</c>). An adapter
    /// trained on a quantized base (<see cref="QatManifest.AdapterFile"/> in the folder) first gets
    /// that base: the model's linear layers are frozen behind the same quantizer.
    /// </summary>
    public static LoraConfig Load(CausalLM model, string folder, bool trainable = false, ScalarType dtype = ScalarType.Float32)
    {
        IO.AtomicDirectory.RestoreIfMissing(folder);
        if (!Directory.Exists(folder)) throw new QuantTuneException($"{folder}: adapter folder not found");
        var configFile = Path.Combine(folder, AdapterConfig.FileName);
        var config = AdapterConfig.Load(configFile) as LoraConfig
            ?? throw new InvalidFormatException(configFile, "peft_type", $"expected \"{LoraConfig.Type}\"");
        var weightsFile = Path.Combine(folder, WeightsFile);
        if (!File.Exists(weightsFile))
            throw new QuantTuneException(File.Exists(Path.Combine(folder, "adapter_model.bin"))
                ? $"{folder}: holds adapter_model.bin (a pickle) but not {WeightsFile}; save the adapter with safe_serialization=True"
                : $"{weightsFile}: adapter weights not found");
        using var file = SafetensorsFile.Open(weightsFile);
        var paths = PeftFiles.Applying(folder, "target_modules", () => config.TargetModules.Resolve(model));
        Check(model, config, paths, file, configFile, weightsFile);
        QatManifest.Load(folder, QatManifest.AdapterFile)?.Freeze(model);

        LoraModel.Apply(model, config, seed: 0, dtype);
        ModulesToSave.Load(model, ModulesToSave.Resolve(config.ModulesToSave, configFile), file, trainable);
        using var _ = no_grad();
        foreach (var (path, lora) in LoraModel.Layers(model))
        {
            Copy(file, KeyPrefix + path + A, lora.lora_A.weight, dtype);
            Copy(file, KeyPrefix + path + B, lora.lora_B.weight, dtype);
            if (lora.lora_magnitude_vector is { } m) Copy(file, KeyPrefix + path + Magnitude, m, dtype);
            foreach (var p in lora.parameters().Where(p => p.requires_grad)) p.requires_grad = trainable;
        }
        foreach (var (path, lora) in LoraModel.Embeddings(model))
        {
            Copy(file, KeyPrefix + path + EmbeddingA, lora.lora_embedding_A, dtype);
            Copy(file, KeyPrefix + path + EmbeddingB, lora.lora_embedding_B, dtype);
            lora.lora_embedding_A.requires_grad = lora.lora_embedding_B.requires_grad = trainable;
        }
        return config;
    }

    static void Copy(SafetensorsFile file, string key, Tensor destination, ScalarType dtype)
    {
        using var t = file.ToTensor(key, dtype, destination.device);
        destination.copy_(t);
    }

    /// <summary>Every key names a targeted layer and has the shape that layer needs; every needed key is there.</summary>
    static void Check(CausalLM model, LoraConfig config, IReadOnlyList<string> paths, SafetensorsFile file, string configFile, string weightsFile)
    {
        var expected = new Dictionary<string, (long[] Shape, string Why)>();
        foreach (var path in paths)
        {
            var (inF, outF) = Features(ModuleSurgery.Find(model, path));
            int r = config.RankOf(path);
            var rank = config.RankPattern.Count > 0 ? $"r={r} for this module in {configFile}" : $"r={r} in {configFile}";
            expected[KeyPrefix + path + A] = ([r, inF], $"{rank}, in_features={inF}");
            expected[KeyPrefix + path + B] = ([outF, r], $"out_features={outF}, {rank}");
            if (config.UseDora) expected[KeyPrefix + path + Magnitude] = ([outF], $"out_features={outF}");
        }
        foreach (var path in config.TargetModules.ResolveEmbeddings(model))
        {
            var table = (Models.Layers.Embedding)ModuleSurgery.Find(model, path);
            long vocab = table.weight.shape[0], hidden = table.weight.shape[1];
            int r = config.RankOf(path);
            expected[KeyPrefix + path + EmbeddingA] = ([r, vocab], $"r={r} in {configFile}, num_embeddings={vocab}");
            expected[KeyPrefix + path + EmbeddingB] = ([hidden, r], $"embedding_dim={hidden}, r={r} in {configFile}");
        }
        var wholeModules = ModulesToSave.Resolve(config.ModulesToSave, configFile).Select(ModulesToSave.Key).ToHashSet();
        foreach (var key in wholeModules)
        {
            if (file.Tensors.TryGetValue(key, out var saved) && ModulesToSave.Misfit(model, saved.Shape) is { } why)
                throw new InvalidFormatException(weightsFile, key, why);
            expected[key] = (ModulesToSave.Shape(model), $"modules_to_save in {configFile}");
        }
        var linears = PeftTargets.LinearPaths(model);
        foreach (var (key, info) in file.Tensors)
        {
            if (expected.TryGetValue(key, out var want))
            {
                if (!info.Shape.SequenceEqual(want.Shape))
                    throw new InvalidFormatException(weightsFile, key, $"has shape [{string.Join(", ", info.Shape)}]; expected [{string.Join(", ", want.Shape)}] ({want.Why})");
                continue;
            }
            var suffix = new[] { A, B, Magnitude, EmbeddingA, EmbeddingB }.FirstOrDefault(key.EndsWith);
            if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal) || suffix is null)
                throw new InvalidFormatException(weightsFile, key, $"is not a LoRA tensor; expected {KeyPrefix}<module path>{A}, {B}, {Magnitude}, {EmbeddingA} or {EmbeddingB}");
            var module = key[KeyPrefix.Length..^suffix.Length];
            if (suffix is EmbeddingA or EmbeddingB)
                throw new InvalidFormatException(weightsFile, key, $"names module '{module}', which target_modules {config.TargetModules} in {configFile} does not select as an embedding");
            if (!linears.Contains(module))
                throw new InvalidFormatException(weightsFile, key, $"names module '{module}', which the model does not have as a linear layer (e.g. {linears.FirstOrDefault()})");
            if (suffix == Magnitude)
                throw new InvalidFormatException(weightsFile, key, $"is a DoRA magnitude but use_dora is false in {configFile}");
            throw new InvalidFormatException(weightsFile, key, $"names module '{module}', which target_modules {config.TargetModules} in {configFile} does not select");
        }
        var missing = expected.Keys.FirstOrDefault(k => !file.Tensors.ContainsKey(k));
        if (missing is not null)
            throw new InvalidFormatException(weightsFile, missing, wholeModules.Contains(missing)
                ? $"is missing; modules_to_save in {configFile} names it, and PEFT saves such a module whole"
                : $"is missing; target_modules {config.TargetModules} in {configFile} selects {paths.Count} layers, and each needs lora_A and lora_B" + (config.UseDora ? " and lora_magnitude_vector" : ""));
    }

    internal static (long In, long Out) Features(nn.Module layer) => layer switch
    {
        Models.Layers.Linear l => (l.InFeatures, l.OutFeatures),
        Quantization.Layers.QuantizedLinear q => (q.InFeatures, q.OutFeatures),
        Qat.FakeQuantLinear f => (f.InFeatures, f.OutFeatures),
        _ => throw new InvalidOperationException($"{layer.GetType().Name} is not a linear layer"),
    };
}
