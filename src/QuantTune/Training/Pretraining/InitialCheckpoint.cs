using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.IO;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using QuantTune.Tokenization;
using static TorchSharp.torch;

namespace QuantTune.Training.Pretraining;

/// <summary>The shape of a model to pretrain from scratch.</summary>
public sealed record ModelSize(int Hidden, int Layers, int Heads, int Intermediate)
{
    public static ModelSize Named(string size) => size.Trim().ToLowerInvariant() switch
    {
        "tiny" => new ModelSize(128, 4, 4, 352),
        "small" => new ModelSize(256, 4, 8, 704),
        "base" => new ModelSize(512, 8, 8, 1408),
        _ => throw new InvalidSettingException("ModelSize.Named(size)", size, "expected tiny, small or base"),
    };
}

/// <summary>
/// A Llama checkpoint folder with freshly initialised weights (N(0, 0.02), as transformers
/// initialises Llama) and a given tokenizer: what pretraining starts from. Written atomically.
/// </summary>
public static class InitialCheckpoint
{
    public static void Write(string directory, ModelSize size, string tokenizerDirectory, long seed)
    {
        var tokenizer = HfTokenizer.FromDirectory(tokenizerDirectory);
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["vocab_size"] = tokenizer.VocabSize,
            ["hidden_size"] = size.Hidden,
            ["intermediate_size"] = size.Intermediate,
            ["num_hidden_layers"] = size.Layers,
            ["num_attention_heads"] = size.Heads,
            ["num_key_value_heads"] = size.Heads,
            ["max_position_embeddings"] = 1024,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = false,
            ["hidden_act"] = "silu",
            ["bos_token_id"] = tokenizer.BosId,
            ["eos_token_id"] = tokenizer.EosId,
            ["pad_token_id"] = tokenizer.PadId,
            ["torch_dtype"] = "float32",
        };
        using var model = new CausalLM(ModelConfig.Parse(config.ToJsonString()), ScalarType.Float32, CPU);
        WeightInit.Initialize(model, seed);
        AtomicDirectory.Write(directory, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new() { WriteIndented = true }));
            SafetensorsWriter.Write(Path.Combine(dir, SafetensorsCheckpoint.SingleFile),
                model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)).OrderBy(p => p.Key, StringComparer.Ordinal));
            foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" }.Where(f => File.Exists(Path.Combine(tokenizerDirectory, f))))
                File.Copy(Path.Combine(tokenizerDirectory, f), Path.Combine(dir, f));
        });
    }
}
