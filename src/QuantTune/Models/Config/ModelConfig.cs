using QuantTune.IO;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Models.Families;

namespace QuantTune.Models.Config;

/// <summary>
/// The architecture of a decoder-only checkpoint, read from its Hugging Face <c>config.json</c>:
/// the shared keys here, then the family's own (<see cref="ModelFamily"/>, one file per family
/// under Models/Families). Both the newer <c>rope_parameters</c> form and the older top-level
/// <c>rope_theta</c> / <c>rope_scaling</c> are understood.
/// </summary>
public sealed record ModelConfig
{
    public static IReadOnlyList<string> SupportedModelTypes => ModelFamilies.ModelTypes;

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

    // ---- what a family changes on the shared decoder (set only by Models/Families) ----

    /// <summary>How RMSNorm applies its weight: w·x̂ (Llama) or x̂·(1+w) in fp32 (Gemma).</summary>
    public NormKind Norm { get; init; } = NormKind.Scaled;
    /// <summary>Two norms per layer before attention and MLP (Llama), or four: also after each (Gemma).</summary>
    public NormPlacement Placement { get; init; } = NormPlacement.Pre;
    /// <summary>An RMSNorm on queries and keys before RoPE (Qwen3, Gemma 3, OLMo 2); <see cref="QkNormOver"/> says over what.</summary>
    public bool QkNorm { get; init; }
    /// <summary>What the q/k norms normalise: each head (weight [head_dim]; Qwen3, Gemma 3), or the whole projection before it is split into heads (weight [heads·head_dim] and [kv_heads·head_dim]; OLMo 2).</summary>
    public QkNormScope QkNormOver { get; init; } = QkNormScope.Head;
    /// <summary>Attention scores scaled by this^-½ instead of head_dim^-½ (Gemma's query_pre_attn_scalar).</summary>
    public double? QueryPreAttentionScalar { get; init; }
    /// <summary>cap·tanh(score/cap) on the attention scores (Gemma 2).</summary>
    public double? AttentionSoftcap { get; init; }
    /// <summary>A learned logit per query head joined to each row's softmax and then dropped (gpt-oss's self_attn.sinks).</summary>
    public bool AttentionSinks { get; init; }
    /// <summary>cap·tanh(logit/cap) on the output logits (Gemma 2).</summary>
    public double? FinalLogitSoftcap { get; init; }
    /// <summary>The embedding output multiplied by √hidden in the embedding's dtype (Gemma).</summary>
    public bool ScaleEmbedding { get; init; }
    /// <summary>The embedding output multiplied by this (Granite's embedding_multiplier); null: not scaled.</summary>
    public double? EmbeddingMultiplier { get; init; }
    /// <summary>Each block's attention and MLP output multiplied by this before the residual addition (Granite's residual_multiplier); null: added as it is.</summary>
    public double? ResidualMultiplier { get; init; }
    /// <summary>The factor on q·k itself, in place of head_dim^-½ (Granite's attention_multiplier); null: the family's usual scale.</summary>
    public double? AttentionMultiplier { get; init; }
    /// <summary>The logits divided by this (Granite's logits_scaling), in inference and in the loss alike; null: not scaled.</summary>
    public double? LogitsScaling { get; init; }
    /// <summary>Which layers use <see cref="SlidingWindow"/> (Gemma's interleave); null: every layer when a window is set.</summary>
    public IReadOnlyList<bool>? SlidingLayers { get; init; }
    /// <summary>RoPE of the sliding-window layers when it differs from <see cref="Rope"/> (Gemma 3's local base).</summary>
    public RopeConfig? LocalRope { get; init; }

    /// <summary>Which layers rotate queries and keys by RoPE (SmolLM3's no_rope_layers: 0 is a layer without positions); null: every layer.</summary>
    public IReadOnlyList<bool>? RopeLayers { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> rotates its queries and keys (rotary positions, and not one of SmolLM3's no-RoPE layers).</summary>
    public bool UsesRope(int layer) => Positions == PositionKind.Rotary && (RopeLayers is null || RopeLayers[layer]);

    /// <summary>The width of the q_norm and k_norm weights: head_dim each, or the whole q and k projections' widths (OLMo 2).</summary>
    public (int Q, int K) QkNormWidths => QkNormOver == QkNormScope.Projection ? (NumHeads * HeadDim, NumKvHeads * HeadDim) : (HeadDim, HeadDim);

    /// <summary>The sparse mixture-of-experts MLP (Qwen3-MoE) and which layers hold it; null for a dense model.</summary>
    public MixtureOfExperts? Experts { get; init; }

    /// <summary>The linear-attention layers of a hybrid decoder (Qwen3.5's Gated DeltaNet) and their sizes; null where every layer is softmax attention.</summary>
    public LinearAttention? LinearAttention { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> mixes tokens by linear attention rather than softmax attention.</summary>
    public bool IsLinearAttention(int layer) => LinearAttention?.IsLinear(layer) == true;

    /// <summary>The query projection also yields a per-channel gate, and the attention's output is multiplied by sigmoid(gate) before o_proj (Qwen3.5's gated attention).</summary>
    public bool AttentionOutputGate { get; init; }

    /// <summary>
    /// Qwen3.5's multimodal RoPE sections (rope_parameters.mrope_section: rotated pairs per temporal, height and width
    /// axis); null where config.json has none. Text sees one position on every axis, so the model runs plain RoPE
    /// whatever they are; GGUF export writes them, as llama.cpp rotates by them.
    /// </summary>
    public IReadOnlyList<int>? RopeSections { get; init; }

    /// <summary>Where the checkpoint keeps the decoder's weights when it is not under <see cref="ModuleNames.Stack"/> (model.language_model in a Qwen3.5 image-text checkpoint); null: under the stack's own name.</summary>
    public string? CheckpointStack { get; init; }

    /// <summary>The head size of the full-attention (global) layers when it differs from <see cref="HeadDim"/>, the sliding layers' (Gemma 4's global_head_dim); null: one head size.</summary>
    public int? GlobalHeadDim { get; init; }

    /// <summary>The full-attention layers have no v_proj: their values are the raw k_proj output, over <see cref="GlobalKvHeads"/> key heads (Gemma 4's attention_k_eq_v).</summary>
    public bool GlobalKeysAsValues { get; init; }

    /// <summary>The key/value heads of the full-attention layers that take their values from their keys (Gemma 4's num_global_key_value_heads).</summary>
    public int? GlobalKvHeads { get; init; }

    /// <summary>The values are RMS-normalised per head without a weight before attention (Gemma 4's v_norm).</summary>
    public bool ValueNorm { get; init; }

    /// <summary>The last layers that have no keys and values of their own (Gemma 4's num_kv_shared_layers); 0: none.</summary>
    public int KvSharedLayers { get; init; }

    /// <summary>The MLPs of the layers that share keys and values are twice <see cref="IntermediateSize"/> wide (Gemma 4's use_double_wide_mlp).</summary>
    public bool DoubleWideSharedMlp { get; init; }

    /// <summary>Each layer's output is multiplied by a stored one-element weight, layer_scalar (Gemma 4).</summary>
    public bool LayerScalar { get; init; }

    /// <summary>Gemma 4's per-layer inputs (a second embedding table and a projection of the embeddings, one slice per layer); null where the family has none.</summary>
    public PerLayerInputs? PerLayerInputs { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> is a full-attention (global) layer among sliding ones (false where no layer slides).</summary>
    bool IsGlobalAmongSliding(int layer) => SlidingWindow is not null && SlidingLayers is not null && !SlidingLayers[layer];

    /// <summary>The head size of layer <paramref name="layer"/>: <see cref="GlobalHeadDim"/> on the full-attention layers where it is set, else <see cref="HeadDim"/>.</summary>
    public int HeadDimOf(int layer) => GlobalHeadDim is int g && IsGlobalAmongSliding(layer) ? g : HeadDim;

    /// <summary>Whether layer <paramref name="layer"/> takes its values from its keys (<see cref="GlobalKeysAsValues"/> on a full-attention layer).</summary>
    public bool KeysAsValues(int layer) => GlobalKeysAsValues && IsGlobalAmongSliding(layer);

    /// <summary>The key/value heads of layer <paramref name="layer"/>.</summary>
    public int KvHeadsOf(int layer) => KeysAsValues(layer) && GlobalKvHeads is int g ? g : NumKvHeads;

    /// <summary>
    /// The layer whose keys and values layer <paramref name="layer"/> attends over, or null for a layer with its own: each of the last
    /// <see cref="KvSharedLayers"/> layers reads the last layer of its own kind (sliding or full) before them, as transformers' Gemma4TextAttention.
    /// </summary>
    public int? KvSourceOf(int layer)
    {
        int first = NumLayers - KvSharedLayers;
        if (KvSharedLayers == 0 || layer < first || first <= 0) return null;
        for (int l = first - 1; l >= 0; l--)
            if (IsSliding(l) == IsSliding(layer)) return l;
        return null;
    }

    /// <summary>The MLP width of layer <paramref name="layer"/> (doubled on the KV-sharing layers with <see cref="DoubleWideSharedMlp"/>).</summary>
    public int IntermediateSizeOf(int layer) => DoubleWideSharedMlp && KvSourceOf(layer) is not null ? 2 * IntermediateSize : IntermediateSize;

    /// <summary>
    /// Why the decoder's layers cannot run one at a time on their input alone (QST's backbone pass, GPTQ's layer-by-layer
    /// calibration), or null where they can: Gemma 4's take per-layer inputs and earlier layers' keys and values.
    /// </summary>
    public string? LayersNeedMoreThanTheirInput =>
        PerLayerInputs is not null ? $"model_type '{ModelType}': its layers also take per-layer inputs (hidden_size_per_layer_input)"
        : KvSharedLayers > 0 ? $"model_type '{ModelType}': its last {KvSharedLayers} layers attend over earlier layers' keys and values (num_kv_shared_layers)"
        : null;

    /// <summary>Whether layer <paramref name="layer"/>'s MLP is a mixture of experts.</summary>
    public bool IsSparse(int layer) => Experts?.IsSparse(layer) == true;

    /// <summary>The family this config belongs to.</summary>
    public ModelFamily Family => ModelFamilies.Find(ModelType) ?? throw new QuantTuneException($"model_type '{ModelType}' is not supported; expected one of {string.Join(", ", SupportedModelTypes)}");

    /// <summary>Whether layer <paramref name="layer"/> attends through the sliding window.</summary>
    public bool IsSliding(int layer) => SlidingWindow is not null && (SlidingLayers is null || SlidingLayers[layer]);

    /// <summary>The attention window of layer <paramref name="layer"/>, or null for full attention.</summary>
    public int? WindowOf(int layer) => IsSliding(layer) ? SlidingWindow : null;

    /// <summary>The RoPE settings of layer <paramref name="layer"/>.</summary>
    public RopeConfig RopeOf(int layer) => IsSliding(layer) && LocalRope is not null ? LocalRope : Rope;

    /// <summary>Where positions come from: RoPE on queries and keys (Llama and every family since), or a learned table added to the embeddings (GPT-2's wpe).</summary>
    public PositionKind Positions { get; init; } = PositionKind.Rotary;
    /// <summary>The feed-forward block: gated (SwiGLU, GeGLU: down(act(gate(x))·up(x))), or plain (GPT-2: down(act(up(x)))).</summary>
    public MlpKind Mlp { get; init; } = MlpKind.Gated;
    /// <summary>The checkpoint's names of the decoder's modules (transformers' attribute names for the family); the module tree is registered under them.</summary>
    public ModuleNames Names { get; init; } = ModuleNames.Llama;
    /// <summary>The checkpoint stores the projections as GPT-2's Conv1D, weight [in, out], the transpose of a Linear's.</summary>
    public bool Conv1DWeights { get; init; }

    /// <summary>How q/k/v and gate/up are stored: separate linears (Llama), or one fused linear each (Phi-3's qkv_proj, gate_up_proj).</summary>
    public ProjectionLayout Projections { get; init; } = ProjectionLayout.Separate;
    /// <summary>The fraction of each head's dimensions RoPE rotates (Phi-3's partial_rotary_factor); the rest pass unrotated.</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;

    /// <summary>The dimensions RoPE rotates in a head of <paramref name="headDim"/> (transformers' int(head_dim · partial_rotary_factor)).</summary>
    public int RotaryDimOf(int headDim) => (int)(headDim * PartialRotaryFactor);

    /// <summary>The factor on q·k: the attention multiplier (Granite), query_pre_attn_scalar^-½ (Gemma), or head_dim^-½.</summary>
    public double AttentionScale => AttentionMultiplier ?? 1.0 / Math.Sqrt(QueryPreAttentionScalar ?? HeadDim);

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
        if (!pathOrDirectory.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) IO.AtomicDirectory.RestoreIfMissing(pathOrDirectory);
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
        var family = ModelFamilies.For(f, type);
        f = family.TextConfig(f);
        string K(string key) => family.KeyOf(f, key);
        int hidden = f.Int(K("hidden_size")), heads = f.Int(K("num_attention_heads"));
        int kvHeads = f.OptionalInt("num_key_value_heads") ?? heads;
        int headDim = f.OptionalInt("head_dim") ?? (heads > 0 ? hidden / heads : 0);
        Positive(f, K("hidden_size"), hidden);
        Positive(f, K("num_attention_heads"), heads);
        Positive(f, "num_key_value_heads", kvHeads);
        if (heads % kvHeads != 0)
            throw f.Invalid("num_key_value_heads", $"{kvHeads} does not divide num_attention_heads ({heads})");
        if (headDim <= 0 || headDim % 2 != 0)
            throw f.Invalid("head_dim", $"{headDim}; expected a positive even number (hidden_size / num_attention_heads when absent)");
        string actKey = f.Has(family.ActivationKey) ? family.ActivationKey : "hidden_act";
        var act = f.OptionalString(actKey) ?? family.DefaultActivation;
        if (act is not ("silu" or "gelu" or "gelu_pytorch_tanh" or "gelu_new"))
            throw f.Invalid(actKey, $"'{act}' is not supported; expected silu, gelu, gelu_pytorch_tanh or gelu_new");
        var shared = new ModelConfig
        {
            ModelType = type,
            VocabSize = Positive(f, "vocab_size", f.Int("vocab_size")),
            HiddenSize = hidden,
            IntermediateSize = Positive(f, K("intermediate_size"), f.OptionalInt(K("intermediate_size")) ?? family.DefaultIntermediateSize(hidden) ?? f.Int(K("intermediate_size"))),
            NumLayers = Positive(f, K("num_hidden_layers"), f.Int(K("num_hidden_layers"))),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            RmsNormEps = f.OptionalDouble(K("rms_norm_eps")) ?? family.DefaultNormEps,
            Rope = ReadRope(f),
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? family.TiedByDefault,
            HiddenAct = act,
            MaxPositionEmbeddings = f.OptionalInt(K("max_position_embeddings")) ?? family.DefaultMaxPositions,
            BosTokenId = f.OptionalInt("bos_token_id"),
            EosTokenIds = f.IntOrIntArray("eos_token_id"),
            PadTokenId = f.OptionalInt("pad_token_id"),
            StoredDType = f.OptionalString("torch_dtype") ?? f.OptionalString("dtype"),
        };
        var config = family.Read(f, shared);
        if (config.Rope.Type == "longrope" && !config.Rope.IsResolvedLongRope)
            throw f.Invalid(RopeTypeField(f),
                $"'longrope' is read for model types {string.Join(", ", ModelFamilies.All.OfType<Phi3Family>().SelectMany(p => p.ModelTypes))} only, not '{type}'");
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
        double theta = parameters?.OptionalDouble("rope_theta") ?? f.OptionalDouble("rope_theta") ?? 10000.0;
        var scaling = RopeScaling(f);
        return scaling is JsonField s ? ReadRopeParameters(s, theta) : new RopeConfig(theta);
    }

    /// <summary>The RoPE settings object: the newer rope_parameters, or the older rope_scaling; null when there is none.</summary>
    internal static JsonField? RopeScaling(JsonField f) => f.Object("rope_parameters") ?? f.Object("rope_scaling");

    /// <summary>The dotted path of the RoPE type field, for errors about the type (rope_parameters.rope_type, rope_scaling.type, ...).</summary>
    internal static string RopeTypeField(JsonField f)
    {
        string parent = f.Has("rope_parameters") ? "rope_parameters" : "rope_scaling";
        bool named = RopeScaling(f) is JsonField s && s.Has("rope_type");
        return parent + (named || parent == "rope_parameters" ? ".rope_type" : ".type");
    }

    /// <summary>One RoPE parameter object (rope_theta, rope_type or type, factor, ...); <paramref name="theta"/> where it has no rope_theta.</summary>
    internal static RopeConfig ReadRopeParameters(JsonField s, double theta)
    {
        theta = s.OptionalDouble("rope_theta") ?? theta;
        var type = s.OptionalString("rope_type") ?? s.OptionalString("type") ?? "default";
        if (type == "su") type = "longrope"; // Phi-3's first configs; transformers reads it as longrope
        if (!RopeConfig.SupportedTypes.Contains(type))
            throw s.Invalid(s.Has("rope_type") ? "rope_type" : "type", $"'{type}' is not supported; expected one of {string.Join(", ", RopeConfig.SupportedTypes)}");
        if (type == "default") return new RopeConfig(theta);
        if (type == "longrope") return LongRope.Read(s, theta);
        if (type == "yarn") return Yarn.Read(s, theta);
        var factor = s.OptionalDouble("factor") ?? throw s.Missing("factor", $"a number (required by rope type {type})");
        if (type == "linear") return new RopeConfig(theta, type, factor);
        return new RopeConfig(theta, type, factor,
            s.OptionalDouble("low_freq_factor") ?? throw s.Missing("low_freq_factor", "a number (required by rope type llama3)"),
            s.OptionalDouble("high_freq_factor") ?? throw s.Missing("high_freq_factor", "a number (required by rope type llama3)"),
            s.OptionalInt("original_max_position_embeddings") ?? throw s.Missing("original_max_position_embeddings", "an integer (required by rope type llama3)"));
    }
}

/// <summary>How an RMSNorm applies its weight to x̂ = x·rsqrt(mean(x²)+ε).</summary>
public enum NormKind
{
    /// <summary>x̂ cast back to the input dtype, then times w (Llama, Qwen).</summary>
    Scaled,
    /// <summary>x̂·(1+w) in fp32, then cast (Gemma; w starts at 0).</summary>
    OffsetOne,
    /// <summary>Not an RMSNorm: LayerNorm with a bias, (x − mean)/√(var + ε)·w + b (GPT-2).</summary>
    LayerNorm,
    /// <summary>x̂·w in fp32, then cast (Gemma 4; w starts at 1).</summary>
    ScaledInFloat32,
}

/// <summary>Where a model's positions come from.</summary>
public enum PositionKind
{
    /// <summary>RoPE on queries and keys.</summary>
    Rotary,
    /// <summary>A learned table of position embeddings added to the token embeddings (GPT-2's wpe).</summary>
    Learned,
}

/// <summary>The feed-forward block's shape.</summary>
public enum MlpKind
{
    /// <summary>down(act(gate(x)) · up(x)).</summary>
    Gated,
    /// <summary>down(act(up(x))) (GPT-2's c_fc and c_proj).</summary>
    Plain,
}

/// <summary>How a layer's input projections are stored.</summary>
public enum ProjectionLayout
{
    /// <summary>q_proj, k_proj, v_proj; gate_proj, up_proj.</summary>
    Separate,
    /// <summary>Phi-3: qkv_proj (rows q, then k, then v) and gate_up_proj (rows gate, then up).</summary>
    Fused,
}

/// <summary>Where a decoder layer's norms sit.</summary>
public enum NormPlacement
{
    /// <summary>input_layernorm before attention, post_attention_layernorm before the MLP.</summary>
    Pre,
    /// <summary>Gemma's four: input_layernorm and post_attention_layernorm around attention, pre_ and post_feedforward_layernorm around the MLP.</summary>
    Sandwich,
    /// <summary>OLMo 2's two, after each block and none before: post_attention_layernorm on the attention's output, post_feedforward_layernorm on the MLP's.</summary>
    Post,
}

/// <summary>What a q/k norm normalises.</summary>
public enum QkNormScope
{
    /// <summary>Each head's queries and keys (weight [head_dim]; Qwen3, Gemma 3).</summary>
    Head,
    /// <summary>The whole q and k projections before the split into heads (weights [heads·head_dim] and [kv_heads·head_dim]; OLMo 2).</summary>
    Projection,
}
