using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Formats.Gguf;

/// <summary>A dense float32 tensor read from a GGUF file, in PyTorch shape order.</summary>
public sealed record GgufDenseTensor(long[] Shape, float[] Values);

/// <summary>A Llama GGUF file brought back to Hugging Face form: the config and dequantized tensors under HF names.</summary>
public sealed record GgufCheckpoint(ModelConfig Config, IReadOnlyDictionary<string, GgufDenseTensor> Tensors)
{
    /// <summary>The file it was read from, named by errors.</summary>
    public string Source { get; init; } = "GGUF checkpoint";
}

/// <summary>
/// Reads a llama-architecture GGUF file: hyperparameters into a <see cref="ModelConfig"/>, tensors
/// dequantized to float32, q/k rows un-permuted and renamed to HF keys, so a <see cref="CausalLM"/>
/// can be built from it (<see cref="ToCausalLM"/>).
/// </summary>
public static class GgufImport
{
    public static GgufCheckpoint Load(string path)
    {
        using var file = GgufFile.Open(path);
        string arch = file.RequiredString("general.architecture", "expected the model's architecture (llama)");
        if (arch != "llama")
            throw new InvalidFormatException(path, "general.architecture", $"'{arch}' is not supported; expected llama");
        if (file.OptionalString("general.type") is string t && t != "model")
            throw new InvalidFormatException(path, "general.type", $"'{t}': this is not a model; a LoRA adapter GGUF is applied with --adapter on top of its base model");
        int heads = Int(file, "llama.attention.head_count");
        int kvHeads = OptInt(file, "llama.attention.head_count_kv") ?? heads;
        int hidden = Int(file, "llama.embedding_length");
        if (!file.TensorsByName.TryGetValue("token_embd.weight", out var embd) || embd.Dims.Length != 2)
            throw new InvalidFormatException(path, "token_embd.weight", "is missing or not 2-D");
        int? bos = OptInt(file, "tokenizer.ggml.bos_token_id"), eos = OptInt(file, "tokenizer.ggml.eos_token_id");
        string? scaling = file.OptionalString("llama.rope.scaling.type");
        var config = new ModelConfig
        {
            ModelType = "llama",
            VocabSize = (int)embd.Dims[1],
            HiddenSize = hidden,
            IntermediateSize = Int(file, "llama.feed_forward_length"),
            NumLayers = Int(file, "llama.block_count"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = OptInt(file, "llama.attention.key_length") ?? OptInt(file, "llama.rope.dimension_count") ?? (heads > 0 ? hidden / heads : 0),
            RmsNormEps = (float)(file.OptionalNumber("llama.attention.layer_norm_rms_epsilon") ?? 1e-5),
            Rope = scaling is "linear"
                ? new RopeConfig(FreqBase(file), "linear", file.OptionalNumber("llama.rope.scaling.factor")
                    ?? throw new InvalidFormatException(path, "llama.rope.scaling.factor", "is missing; expected a number (required by linear rope scaling)"))
                : new RopeConfig(FreqBase(file)),
            TieWordEmbeddings = !file.TensorsByName.ContainsKey("output.weight"),
            QkvBias = file.TensorsByName.ContainsKey("blk.0.attn_q.bias"),
            OutputBias = file.TensorsByName.ContainsKey("blk.0.attn_output.bias"),
            MaxPositionEmbeddings = OptInt(file, "llama.context_length") ?? 2048,
            BosTokenId = bos,
            EosTokenIds = eos is int e ? [e] : [],
            PadTokenId = OptInt(file, "tokenizer.ggml.padding_token_id"),
        };
        ModelDimensionLimits.Check(config, (field, problem) => new InvalidFormatException(path, field, problem), field => GgufKeys.GetValueOrDefault(field, field));

        // Every tensor checked against the shape the metadata implies before any is read.
        var expected = LlamaShapes.Expected(config);
        var hfNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in file.Tensors)
        {
            string hf = LlamaTensorNames.ToHf(info.Name)
                ?? throw new InvalidFormatException(path, info.Name, "is not a llama tensor QuantTune knows");
            if (!expected.TryGetValue(hf, out var shape))
                throw new InvalidFormatException(path, info.Name, $"is not a tensor of the model its metadata describes ({config.NumLayers} layers{(config.TieWordEmbeddings ? ", tied embeddings" : "")})");
            if (!info.Shape.SequenceEqual(shape))
                throw new InvalidFormatException(path, info.Name, $"has shape [{string.Join(", ", info.Shape)}]; the metadata implies [{string.Join(", ", shape)}]");
            hfNames[hf] = info.Name;
        }
        if (expected.Keys.FirstOrDefault(n => !hfNames.ContainsKey(n)) is string absent)
            throw new InvalidFormatException(path, LlamaTensorNames.ToGguf(absent) ?? absent, "is missing; the model its metadata describes needs it");

        var tensors = new Dictionary<string, GgufDenseTensor>(StringComparer.Ordinal);
        foreach (var (hf, name) in hfNames)
        {
            var info = file.TensorsByName[name];
            float[] values = file.ReadTensor(info.Name);
            long[] shape = info.Shape;
            if (LlamaTensorNames.PermuteHeads(info.Name, heads, kvHeads) is int h)
                values = LlamaRowPermutation.Unpermute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, h);
            tensors[hf] = new GgufDenseTensor(shape, values);
        }
        return new GgufCheckpoint(config, tensors) { Source = path };
    }

    /// <summary>The GGUF metadata key (or tensor) each config.json dimension comes from.</summary>
    static readonly Dictionary<string, string> GgufKeys = new()
    {
        ["vocab_size"] = "token_embd.weight",
        ["hidden_size"] = "llama.embedding_length",
        ["intermediate_size"] = "llama.feed_forward_length",
        ["num_hidden_layers"] = "llama.block_count",
        ["num_attention_heads"] = "llama.attention.head_count",
        ["num_key_value_heads"] = "llama.attention.head_count_kv",
        ["head_dim"] = "llama.attention.key_length",
    };

    /// <summary>Builds a <see cref="CausalLM"/> from <paramref name="checkpoint"/>; every parameter must be present with its shape.</summary>
    public static CausalLM ToCausalLM(GgufCheckpoint checkpoint, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var model = new CausalLM(checkpoint.Config, dtype, device ?? CPU);
        try
        {
            using var _ = no_grad();
            foreach (var (name, p) in model.named_parameters())
            {
                if (!checkpoint.Tensors.TryGetValue(name, out var t))
                    throw new InvalidFormatException(checkpoint.Source, LlamaTensorNames.ToGguf(name) ?? name, $"is missing; the model needs it for parameter '{name}'");
                if (!t.Shape.SequenceEqual(p.shape))
                    throw new InvalidFormatException(checkpoint.Source, LlamaTensorNames.ToGguf(name) ?? name, $"has shape [{string.Join(", ", t.Shape)}]; the model expects [{string.Join(", ", p.shape)}]");
                using var src = tensor(t.Values, t.Shape);
                p.copy_(src);
            }
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static double FreqBase(GgufFile f) => f.OptionalNumber("llama.rope.freq_base") ?? 10000.0;

    static int Int(GgufFile f, string key) =>
        OptInt(f, key) ?? throw new InvalidFormatException(f.Path, key, "is missing");

    static int? OptInt(GgufFile f, string key) => (int?)f.OptionalInteger(key, 0, int.MaxValue);
}
