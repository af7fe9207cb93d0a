using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Models.Families;

namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// What convert_hf_to_gguf.py's TextModel gives every decoder architecture that does not write its keys itself:
/// <c>set_gguf_parameters</c>'s keys (context, embedding, block and feed-forward sizes, head counts, key/value
/// length where config.json has head_dim, RMS ε, RoPE base and linear scaling), gguf-py's llama tensor names
/// (<see cref="LlamaTensorNames"/>) with tensors written as they are, and the same read back from a file. An
/// architecture overrides what its converter class changes.
/// </summary>
public abstract class TextModelArchitecture : IGgufArchitecture
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public virtual string ModelType => Name;

    /// <inheritdoc/>
    public abstract bool Takes(ModelFamily family);

    /// <summary>The key <c>&lt;arch&gt;.<paramref name="suffix"/></c>.</summary>
    protected string Key(string suffix) => $"{Name}.{suffix}";

    /// <summary>
    /// Refuses RoPE llama.cpp's converter does not write for the architecture (<see cref="RopeTypes"/>); an
    /// architecture adds its own refusals.
    /// </summary>
    public virtual void CheckRepresentable(ModelConfig config, string directory)
    {
        if (!RopeTypes.Contains(config.Rope.Type))
            throw new NotSupportedException($"GGUF export does not support rope type '{config.Rope.Type}' yet");
    }

    /// <summary>The RoPE types written: none, or linear scaling (<c>rope.scaling.type</c>, <c>rope.scaling.factor</c>).</summary>
    protected virtual IReadOnlyList<string> RopeTypes => ["default", "linear"];

    /// <inheritdoc/>
    public virtual IEnumerable<(string Key, GgufValue Value)> Hyperparameters(ModelConfig config)
    {
        foreach (var kv in LeadingKeys(config)) yield return kv;
        yield return (Key("context_length"), GgufValue.Of((uint)config.MaxPositionEmbeddings));
        yield return (Key("embedding_length"), GgufValue.Of((uint)config.HiddenSize));
        yield return (Key("block_count"), GgufValue.Of((uint)config.NumLayers));
        yield return (Key("feed_forward_length"), GgufValue.Of((uint)config.IntermediateSize));
        foreach (var kv in SizeKeys(config)) yield return kv;
        yield return (Key("attention.head_count"), GgufValue.Of((uint)config.NumHeads));
        yield return (Key("attention.head_count_kv"), GgufValue.Of((uint)config.NumKvHeads));
        if (WritesHeadLength(config))
        {
            yield return (Key("attention.key_length"), GgufValue.Of((uint)config.HeadDim));
            yield return (Key("attention.value_length"), GgufValue.Of((uint)config.HeadDim));
        }
        yield return (Key("attention.layer_norm_rms_epsilon"), GgufValue.Of((float)config.RmsNormEps));
        foreach (var kv in PositionKeys(config)) yield return kv;
    }

    /// <summary>Keys the converter class writes before TextModel's (none here).</summary>
    protected virtual IEnumerable<(string Key, GgufValue Value)> LeadingKeys(ModelConfig config) => [];

    /// <summary>Keys the converter class writes after the sizes, before the head counts (none here).</summary>
    protected virtual IEnumerable<(string Key, GgufValue Value)> SizeKeys(ModelConfig config) => [];

    /// <summary>
    /// Whether <c>attention.key_length</c> and <c>value_length</c> are written: TextModel writes them where config.json
    /// has head_dim, which every family but Llama's and Qwen2's always has.
    /// </summary>
    protected virtual bool WritesHeadLength(ModelConfig config) => true;

    /// <summary>The RoPE base and linear scaling, after the RMS ε.</summary>
    protected virtual IEnumerable<(string Key, GgufValue Value)> PositionKeys(ModelConfig config)
    {
        yield return (Key("rope.freq_base"), GgufValue.Of((float)config.Rope.Theta));
        if (config.Rope.Type == "linear")
        {
            yield return (Key("rope.scaling.type"), GgufValue.Of("linear"));
            yield return (Key("rope.scaling.factor"), GgufValue.Of((float)config.Rope.Factor));
        }
    }

    /// <inheritdoc/>
    public virtual IEnumerable<(string Name, float[] Values)> ExtraTensors(ModelConfig config) => [];

    /// <inheritdoc/>
    public virtual bool Writes(string hf) => true;

    /// <summary>None here: llama.cpp's graph takes token_embd as the head when output.weight is absent.</summary>
    public virtual bool WritesTiedHead => false;

    /// <inheritdoc/>
    public virtual string? TensorName(string hf) => LlamaTensorNames.ToGguf(hf);

    /// <inheritdoc/>
    public virtual long[] GgufShape(string gguf, long[] shape) => shape;

    /// <summary>None here: every parameter is a tensor of its own.</summary>
    public virtual (string Gguf, int Index, int Count)? MergedInto(string hf, ModelConfig config) => null;

    /// <summary>None here: every tensor is one parameter.</summary>
    public virtual IReadOnlyList<string>? HfSlices(string gguf, ModelConfig config) => null;

    /// <inheritdoc/>
    public virtual float[] ToGguf(string gguf, long[] shape, float[] values, ModelConfig config) => values;

    /// <inheritdoc/>
    public virtual ModelConfig ReadConfig(GgufFile file)
    {
        int heads = Int(file, Key("attention.head_count"));
        int kvHeads = OptInt(file, Key("attention.head_count_kv")) ?? heads;
        int hidden = Int(file, Key("embedding_length"));
        if (!file.TensorsByName.TryGetValue("token_embd.weight", out var embd) || embd.Dims.Length != 2)
            throw new InvalidFormatException(file.Path, "token_embd.weight", "is missing or not 2-D");
        int? bos = OptInt(file, "tokenizer.ggml.bos_token_id"), eos = OptInt(file, "tokenizer.ggml.eos_token_id");
        bool Has(string tensor) => file.TensorsByName.ContainsKey(tensor);
        return new ModelConfig
        {
            ModelType = ModelType,
            VocabSize = (int)embd.Dims[1],
            HiddenSize = hidden,
            IntermediateSize = Int(file, Key("feed_forward_length")),
            NumLayers = Int(file, Key("block_count")),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = HeadDim(file, hidden, heads),
            RmsNormEps = (float)(file.OptionalNumber(Key(NormEpsilonKey)) ?? 1e-5),
            Rope = Rope(file),
            TieWordEmbeddings = !Has("output.weight"),
            QkvBias = Has("blk.0.attn_q.bias") || Has("blk.0.attn_qkv.bias"),
            OutputBias = Has("blk.0.attn_output.bias"),
            MlpBias = Has("blk.0.ffn_down.bias"),
            MaxPositionEmbeddings = OptInt(file, Key("context_length")) ?? 2048,
            BosTokenId = bos,
            EosTokenIds = eos is int e ? [e] : [],
            PadTokenId = OptInt(file, "tokenizer.ggml.padding_token_id"),
        };
    }

    /// <summary>The norm epsilon's key after the architecture's name (RMSNorm's here).</summary>
    protected virtual string NormEpsilonKey => "attention.layer_norm_rms_epsilon";

    /// <summary>The head size: <c>attention.key_length</c>, else hidden / heads.</summary>
    protected virtual int HeadDim(GgufFile file, int hidden, int heads) =>
        OptInt(file, Key("attention.key_length")) ?? (heads > 0 ? hidden / heads : 0);

    /// <summary>The RoPE base (10000 when absent) and linear scaling where <c>rope.scaling.type</c> says so.</summary>
    protected RopeConfig Rope(GgufFile file)
    {
        double theta = file.OptionalNumber(Key("rope.freq_base")) ?? 10000.0;
        if (file.OptionalString(Key("rope.scaling.type")) is not "linear") return new RopeConfig(theta);
        return new RopeConfig(theta, "linear", file.OptionalNumber(Key("rope.scaling.factor"))
            ?? throw new InvalidFormatException(file.Path, Key("rope.scaling.factor"), "is missing; expected a number (required by linear rope scaling)"));
    }

    /// <inheritdoc/>
    public virtual string KeyOf(string configField) => configField switch
    {
        "vocab_size" => "token_embd.weight",
        "hidden_size" => Key("embedding_length"),
        "intermediate_size" => Key("feed_forward_length"),
        "num_hidden_layers" => Key("block_count"),
        "num_attention_heads" => Key("attention.head_count"),
        "num_key_value_heads" => Key("attention.head_count_kv"),
        "head_dim" => Key("attention.key_length"),
        _ => configField,
    };

    /// <inheritdoc/>
    public virtual bool IsConfigTensor(string gguf) => false;

    /// <inheritdoc/>
    public virtual string? HfName(string gguf, ModelConfig config) => LlamaTensorNames.ToHf(gguf, config.Projections);

    /// <inheritdoc/>
    public virtual float[] ToHf(string gguf, long[] shape, float[] values, ModelConfig config) => values;

    /// <inheritdoc/>
    public virtual bool ReadsUnchanged(string gguf, ModelConfig config) => true;

    /// <inheritdoc/>
    public virtual int[]? HfRowSources(string gguf, long[] shape, ModelConfig config) => null;

    /// <summary>The integer under <paramref name="key"/>; absent is an error naming the file and key.</summary>
    protected static int Int(GgufFile f, string key) =>
        OptInt(f, key) ?? throw new InvalidFormatException(f.Path, key, "is missing");

    /// <summary>The non-negative integer under <paramref name="key"/>, or null when absent.</summary>
    protected static int? OptInt(GgufFile f, string key) => (int?)f.OptionalInteger(key, 0, int.MaxValue);
}
