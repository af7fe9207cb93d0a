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
/// Reads a llama- or phi3-architecture GGUF file: hyperparameters into a <see cref="ModelConfig"/>, tensors
/// dequantized to float32, q/k rows un-permuted and renamed to HF keys, so a <see cref="CausalLM"/>
/// can be built from it (<see cref="ToCausalLM"/>).
/// </summary>
public static class GgufImport
{
    public static GgufCheckpoint Load(string path)
    {
        using var file = GgufFile.Open(path);
        string arch = file.RequiredString("general.architecture", "expected the model's architecture (llama or phi3)");
        if (arch is not ("llama" or "phi3"))
            throw new InvalidFormatException(path, "general.architecture", $"'{arch}' is not supported; expected llama or phi3");
        if (file.OptionalString("general.type") is string t && t != "model")
            throw new InvalidFormatException(path, "general.type", $"'{t}': this is not a model; a LoRA adapter GGUF is applied with --adapter on top of its base model");
        int heads = Int(file, $"{arch}.attention.head_count");
        int kvHeads = OptInt(file, $"{arch}.attention.head_count_kv") ?? heads;
        int hidden = Int(file, $"{arch}.embedding_length");
        if (!file.TensorsByName.TryGetValue("token_embd.weight", out var embd) || embd.Dims.Length != 2)
            throw new InvalidFormatException(path, "token_embd.weight", "is missing or not 2-D");
        int? bos = OptInt(file, "tokenizer.ggml.bos_token_id"), eos = OptInt(file, "tokenizer.ggml.eos_token_id");
        string? scaling = file.OptionalString("llama.rope.scaling.type");
        var config = new ModelConfig
        {
            ModelType = arch,
            VocabSize = (int)embd.Dims[1],
            HiddenSize = hidden,
            IntermediateSize = Int(file, $"{arch}.feed_forward_length"),
            NumLayers = Int(file, $"{arch}.block_count"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = OptInt(file, "llama.attention.key_length") ?? OptInt(file, "llama.rope.dimension_count") ?? (heads > 0 ? hidden / heads : 0),
            RmsNormEps = (float)(file.OptionalNumber($"{arch}.attention.layer_norm_rms_epsilon") ?? 1e-5),
            Rope = scaling is "linear"
                ? new RopeConfig(FreqBase(file, arch), "linear", file.OptionalNumber("llama.rope.scaling.factor")
                    ?? throw new InvalidFormatException(path, "llama.rope.scaling.factor", "is missing; expected a number (required by linear rope scaling)"))
                : new RopeConfig(FreqBase(file, arch)),
            TieWordEmbeddings = !file.TensorsByName.ContainsKey("output.weight"),
            QkvBias = file.TensorsByName.ContainsKey("blk.0.attn_q.bias"),
            OutputBias = file.TensorsByName.ContainsKey("blk.0.attn_output.bias"),
            MaxPositionEmbeddings = OptInt(file, $"{arch}.context_length") ?? 2048,
            BosTokenId = bos,
            EosTokenIds = eos is int e ? [e] : [],
            PadTokenId = OptInt(file, "tokenizer.ggml.padding_token_id"),
        };
        if (arch == "phi3") config = Phi3Config(file, config);
        ModelDimensionLimits.Check(config, (field, problem) => new InvalidFormatException(path, field, problem), field => GgufKeys.GetValueOrDefault(field, field).Replace("llama.", arch + ".", StringComparison.Ordinal));

        // Every tensor checked against the shape the metadata implies before any is read.
        var expected = LlamaShapes.Expected(config);
        var hfNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in file.Tensors)
        {
            if (arch == "phi3" && Phi3Keys.RopeFactorTensors.Contains(info.Name)) continue; // read into the config
            string hf = LlamaTensorNames.ToHf(info.Name, config.Projections)
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
            if (arch == "llama" && LlamaTensorNames.PermuteHeads(info.Name, heads, kvHeads) is int h)
                values = LlamaRowPermutation.Unpermute(values, (int)shape[0], shape.Length > 1 ? (int)shape[1] : 1, h);
            tensors[hf] = new GgufDenseTensor(shape, values);
        }
        return new GgufCheckpoint(config, tensors) { Source = path };
    }

    /// <summary>
    /// Phi-3's differences as Phi3MiniModel wrote them: fused projections, head size hidden / heads, the rotated share
    /// from rope.dimension_count, the window (0: none), and LongRoPE from the rope_factors tensors with the original
    /// context and attention factor keys.
    /// </summary>
    static ModelConfig Phi3Config(GgufFile file, ModelConfig c)
    {
        int headDim = c.HiddenSize / Math.Max(1, c.NumHeads);
        int rotary = OptInt(file, "phi3.rope.dimension_count") ?? headDim;
        if (rotary <= 0 || rotary > headDim || rotary % 2 != 0)
            throw new InvalidFormatException(file.Path, "phi3.rope.dimension_count", $"is {rotary}; expected a positive even number up to the head size {headDim}");
        int original = OptInt(file, "phi3.rope.scaling.original_context_length") ?? c.MaxPositionEmbeddings;
        if (original <= 0) throw new InvalidFormatException(file.Path, "phi3.rope.scaling.original_context_length", $"is {original}; expected a positive integer");
        var rope = new RopeConfig(c.Rope.Theta, OriginalMaxPositionEmbeddings: original);
        if (Phi3Keys.RopeFactorTensors.Any(file.TensorsByName.ContainsKey))
        {
            double[] Factors(string name)
            {
                if (!file.TensorsByName.TryGetValue(name, out var info) || info.Shape.Length != 1 || info.Shape[0] != rotary / 2)
                    throw new InvalidFormatException(file.Path, name, $"is missing or not of shape [{rotary / 2}] (one factor per rotated pair)");
                return file.ReadTensor(name).Select(v => (double)v).ToArray();
            }
            rope = new RopeConfig(c.Rope.Theta, "longrope", (double)c.MaxPositionEmbeddings / original, OriginalMaxPositionEmbeddings: original)
            {
                LongFactor = Factors(Phi3Keys.LongFactorsTensor),
                ShortFactor = Factors(Phi3Keys.ShortFactorsTensor),
                AttentionFactor = file.OptionalNumber("phi3.rope.scaling.attn_factor") ?? 1.0,
            };
        }
        int window = OptInt(file, "phi3.attention.sliding_window") ?? 0;
        return c with
        {
            HeadDim = headDim,
            Projections = ProjectionLayout.Fused,
            PartialRotaryFactor = (double)rotary / headDim,
            Rope = rope,
            SlidingWindow = window > 0 ? window : null,
        };
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

    static double FreqBase(GgufFile f, string arch) => f.OptionalNumber($"{arch}.rope.freq_base") ?? 10000.0;

    static int Int(GgufFile f, string key) =>
        OptInt(f, key) ?? throw new InvalidFormatException(f.Path, key, "is missing");

    static int? OptInt(GgufFile f, string key) => (int?)f.OptionalInteger(key, 0, int.MaxValue);
}
