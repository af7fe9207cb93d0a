using System.Diagnostics;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Quantization.Models;
using QuantTune.Tokenization;
using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// A Hugging Face checkpoint folder loaded for use: config.json, the safetensors weights
/// (single or sharded) in the requested dtype on the requested device, and tokenizer.json.
/// </summary>
public sealed class PretrainedModel : IDisposable
{
    public required string Directory { get; init; }
    public required ModelConfig Config { get; init; }
    public required CausalLM Model { get; init; }
    public required HfTokenizer Tokenizer { get; init; }
    /// <summary>Checkpoint keys the model has no parameter for.</summary>
    public IReadOnlyList<string> UnusedKeys { get; init; } = [];
    public TimeSpan LoadTime { get; init; }
    public long CheckpointBytes { get; init; }

    /// <param name="quantize">
    /// Linear layers to quantize (QLoRA's and QST's frozen NF4 backbone): from a safetensors checkpoint, each layer is quantized as it is
    /// read (<see cref="QuantizingLoader"/>), so the full-precision model never exists whole; layers a quantized checkpoint already
    /// holds quantized stay as they are, and the others, or a GGUF's, are quantized after the load.
    /// </param>
    /// <param name="keepGgufBlocks">
    /// for inference from a GGUF file on the CPU (generate, eval, chat): the linear layers whose blocks have a dot-product kernel
    /// stay quantized as <see cref="Quantization.Layers.GgufLinear"/> layers instead of being dequantized; ignored with
    /// <paramref name="quantize"/> or on another device, and for a safetensors checkpoint
    /// </param>
    public static PretrainedModel Load(string directory, ScalarType dtype = ScalarType.Float32, Device? device = null,
        IProgress<(int Done, int Total)>? progress = null, LayerQuantizer? quantize = null, bool keepGgufBlocks = false)
    {
        if (File.Exists(directory) && directory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            device ??= CPU;
            bool keep = keepGgufBlocks && quantize is null && device.type == TorchSharp.DeviceType.CPU;
            return QuantizedAfter(LoadGguf(directory, dtype, device, keep), quantize);
        }
        IO.AtomicDirectory.RestoreIfMissing(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new QuantTuneException($"{directory}: model folder not found");
        var sw = Stopwatch.StartNew();
        var config = ModelConfig.Load(directory);
        var tokenizer = HfTokenizer.FromDirectory(directory);
        // Ids past the embedding would fail inside it, mid-run: refused now, or (added tokens) when text holds them.
        tokenizer.LimitToModel(config.VocabSize, "vocab_size in " + Path.Combine(directory, "config.json"));
        device ??= CPU;
        using var checkpoint = SafetensorsCheckpoint.Open(directory);
        CheckWeightsCanHold(config, checkpoint.TotalBytes, Path.Combine(directory, "config.json"));
        bool alreadyQuantized = QuantizedCheckpoint.IsQuantized(directory);
        var model = quantize is not null && !alreadyQuantized
            ? QuantizingLoader.Build(config, checkpoint, dtype, device, quantize)
            : new CausalLM(config, dtype, device);
        try
        {
            var quantized = (alreadyQuantized ? QuantizedCheckpoint.ReplaceQuantizedLayers(model, checkpoint) : quantize?.Result.Layers ?? [])
                .Select(p => p + ".").ToList();
            // The quantized layers' entries (weight, weight.absmax, ..., or GPTQ's qweight, qzeros, scales, g_idx; or the weights quantized as they were read) were used by them.
            // Experts quantized as they were read from transformers 5's fused tensors used those tensors.
            var fused = quantized.Select(w => FusedExperts.Of(config, checkpoint, CheckpointLayout.KeyOf(config, checkpoint, w + "weight"))?.Key).OfType<string>()
                .Concat(quantized.SelectMany(w => InterleavedExperts.Of(config, checkpoint, CheckpointLayout.KeyOf(config, checkpoint, w + "weight"))?.Keys ?? []))
                .ToHashSet();
            var unused = WeightLoader.Load(model, checkpoint, progress, config)
                .Where(n => !quantized.Any(w => n.StartsWith(w, StringComparison.Ordinal)) && !fused.Contains(n)).ToList();
            if (quantize is not null && alreadyQuantized) ModelQuantizer.Quantize(model, quantize);
            model.eval();
            return new PretrainedModel
            {
                Directory = directory,
                Config = config,
                Model = model,
                Tokenizer = tokenizer,
                UnusedKeys = unused,
                LoadTime = sw.Elapsed,
                CheckpointBytes = checkpoint.TotalBytes,
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static PretrainedModel QuantizedAfter(PretrainedModel pm, LayerQuantizer? quantize)
    {
        if (quantize is null) return pm;
        try
        {
            ModelQuantizer.Quantize(pm.Model, quantize);
            return pm;
        }
        catch
        {
            pm.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A GGUF model file of any architecture QuantTune writes (<see cref="Formats.Gguf.GgufImport"/>): dequantized on load, but for the
    /// linear layers kept on their blocks with <paramref name="keepBlocks"/>; its tokenizer rebuilt from the file.
    /// </summary>
    static PretrainedModel LoadGguf(string path, ScalarType dtype, Device device, bool keepBlocks)
    {
        var sw = Stopwatch.StartNew();
        var checkpoint = Formats.Gguf.GgufImport.Load(path, keepBlocks);
        HfTokenizer tokenizer;
        using (var file = Formats.Gguf.GgufFile.Open(path)) tokenizer = Formats.Gguf.GgufTokenizer.Load(file);
        if (tokenizer.VocabSize > checkpoint.Config.VocabSize)
            throw new InvalidFormatException(path, "tokenizer.ggml.tokens",
                $"ids reach {tokenizer.VocabSize - 1}, beyond the {checkpoint.Config.VocabSize} rows of token_embd.weight; expected a tokenizer for this model");
        var model = Formats.Gguf.GgufImport.ToCausalLM(checkpoint, dtype, device);
        model.eval();
        return new PretrainedModel
        {
            Directory = path,
            Config = checkpoint.Config,
            Model = model,
            Tokenizer = tokenizer,
            LoadTime = sw.Elapsed,
            CheckpointBytes = IO.FileLength.Of(path),
        };
    }

    /// <summary>
    /// Refuses a config that describes a model far larger than its weights (under one bit per
    /// parameter, below any scheme QuantTune reads) before that model is allocated.
    /// </summary>
    static void CheckWeightsCanHold(ModelConfig config, long checkpointBytes, string configPath)
    {
        long parameters = ModelDimensionLimits.ParameterCount(config);
        if (parameters / 8 > checkpointBytes)
            throw new InvalidFormatException(configPath, null,
                $"describes a model of {parameters:N0} parameters (hidden_size {config.HiddenSize}, num_hidden_layers {config.NumLayers}, vocab_size {config.VocabSize}), " +
                $"but the checkpoint's weights are {checkpointBytes:N0} bytes, under one bit per parameter: config.json does not belong to these weights");
    }

    public void Dispose() => Model.Dispose();
}
