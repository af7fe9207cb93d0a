using QuantTune.IO;
using System.Text.Json;
using QuantTune.Diagnostics;

namespace QuantTune.Models.Config;

/// <summary>
/// The architecture of a decoder-only checkpoint, read from its Hugging Face <c>config.json</c>
/// (model types llama, mistral and qwen2). Both the newer <c>rope_parameters</c> form and the
/// older top-level <c>rope_theta</c> / <c>rope_scaling</c> are understood.
/// </summary>
public sealed record ModelConfig
{
    public static readonly string[] SupportedModelTypes = ["llama", "mistral", "qwen2"];

    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public required RopeConfig Rope { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on the q, k and v projections (Qwen2; Llama with attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on the output projection (Llama with attention_bias).</summary>
    public bool OutputBias { get; init; }
    public bool MlpBias { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public int? SlidingWindow { get; init; }
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>The dtype the weights were saved in (<c>torch_dtype</c> or <c>dtype</c>), e.g. bfloat16.</summary>
    public string? StoredDType { get; init; }

    public int KvGroups => NumHeads / NumKvHeads;

    /// <summary>The dtype the weights were saved in, as a torch type (bf16 when the config does not say).</summary>
    public TorchSharp.torch.ScalarType StoredScalarType => StoredDType switch
    {
        "float32" => TorchSharp.torch.ScalarType.Float32,
        "float16" => TorchSharp.torch.ScalarType.Float16,
        _ => TorchSharp.torch.ScalarType.BFloat16,
    };

    public static ModelConfig Load(string pathOrDirectory)
    {
        var path = Directory.Exists(pathOrDirectory) ? Path.Combine(pathOrDirectory, "config.json") : pathOrDirectory;
        if (!File.Exists(path))
            throw new QuantTuneException($"{path}: file not found; expected a Hugging Face config.json");
        using var doc = JsonFile.ReadObject(path);
        return Parse(new JsonField(path, doc.RootElement));
    }

    public static ModelConfig Parse(string json, string file = "config.json")
    {
        using var doc = JsonFile.ParseObject(System.Text.Encoding.UTF8.GetBytes(json), file);
        return Parse(new JsonField(file, doc.RootElement));
    }

    static ModelConfig Parse(JsonField f)
    {
        var type = f.String("model_type");
        if (!SupportedModelTypes.Contains(type))
            throw f.Invalid("model_type", $"'{type}' is not supported; expected one of {string.Join(", ", SupportedModelTypes)}");
        int hidden = f.Int("hidden_size"), heads = f.Int("num_attention_heads");
        int kvHeads = f.OptionalInt("num_key_value_heads") ?? heads;
        int headDim = f.OptionalInt("head_dim") ?? (heads > 0 ? hidden / heads : 0);
        Positive(f, "hidden_size", hidden);
        Positive(f, "num_attention_heads", heads);
        Positive(f, "num_key_value_heads", kvHeads);
        if (heads % kvHeads != 0)
            throw f.Invalid("num_key_value_heads", $"{kvHeads} does not divide num_attention_heads ({heads})");
        if (headDim <= 0 || headDim % 2 != 0)
            throw f.Invalid("head_dim", $"{headDim}; expected a positive even number (hidden_size / num_attention_heads when absent)");
        bool attentionBias = f.OptionalBool("attention_bias") ?? false;
        var act = f.OptionalString("hidden_act") ?? "silu";
        if (act is not ("silu" or "gelu" or "gelu_pytorch_tanh"))
            throw f.Invalid("hidden_act", $"'{act}' is not supported; expected silu, gelu or gelu_pytorch_tanh");
        bool slidingOn = f.OptionalBool("use_sliding_window") ?? type == "mistral";
        var config = new ModelConfig
        {
            ModelType = type,
            VocabSize = Positive(f, "vocab_size", f.Int("vocab_size")),
            HiddenSize = hidden,
            IntermediateSize = Positive(f, "intermediate_size", f.Int("intermediate_size")),
            NumLayers = Positive(f, "num_hidden_layers", f.Int("num_hidden_layers")),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            RmsNormEps = f.OptionalDouble("rms_norm_eps") ?? 1e-6,
            Rope = ReadRope(f),
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? false,
            QkvBias = type == "qwen2" || attentionBias,
            OutputBias = type != "qwen2" && attentionBias,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            HiddenAct = act,
            MaxPositionEmbeddings = f.OptionalInt("max_position_embeddings") ?? 2048,
            SlidingWindow = slidingOn ? f.OptionalInt("sliding_window") : null,
            BosTokenId = f.OptionalInt("bos_token_id"),
            EosTokenIds = f.IntOrIntArray("eos_token_id"),
            PadTokenId = f.OptionalInt("pad_token_id"),
            StoredDType = f.OptionalString("torch_dtype") ?? f.OptionalString("dtype"),
        };
        ModelDimensionLimits.Check(config, (field, problem) => f.Invalid(field, problem));
        return config;
    }

    static int Positive(JsonField f, string key, int value) =>
        value > 0 ? value : throw f.Invalid(key, $"is {value}; expected a positive integer");

    static RopeConfig ReadRope(JsonField f)
    {
        // Newer files: rope_parameters { rope_theta, rope_type, factor, ... }.
        // Older files: top-level rope_theta and an optional rope_scaling { type | rope_type, factor, ... }.
        var parameters = f.Object("rope_parameters");
        var scaling = parameters ?? f.Object("rope_scaling");
        double theta = parameters?.OptionalDouble("rope_theta") ?? f.OptionalDouble("rope_theta") ?? 10000.0;
        if (scaling is not JsonField s) return new RopeConfig(theta);
        var type = s.OptionalString("rope_type") ?? s.OptionalString("type") ?? "default";
        if (!RopeConfig.SupportedTypes.Contains(type))
            throw s.Invalid(s.Has("rope_type") ? "rope_type" : "type", $"'{type}' is not supported; expected one of {string.Join(", ", RopeConfig.SupportedTypes)}");
        if (type == "default") return new RopeConfig(theta);
        var factor = s.OptionalDouble("factor") ?? throw s.Missing("factor", $"a number (required by rope type {type})");
        if (type == "linear") return new RopeConfig(theta, type, factor);
        return new RopeConfig(theta, type, factor,
            s.OptionalDouble("low_freq_factor") ?? throw s.Missing("low_freq_factor", "a number (required by rope type llama3)"),
            s.OptionalDouble("high_freq_factor") ?? throw s.Missing("high_freq_factor", "a number (required by rope type llama3)"),
            s.OptionalInt("original_max_position_embeddings") ?? throw s.Missing("original_max_position_embeddings", "an integer (required by rope type llama3)"));
    }
}
