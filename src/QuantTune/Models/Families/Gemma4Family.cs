using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Gemma 4's text model (<c>gemma4_text</c>, and the text model of a <c>gemma4</c> image-audio-text checkpoint: its
/// text_config, its weights under model.language_model; the vision and audio towers are left out). On Gemma 3's
/// decoder (sandwich norms, GeGLU, √hidden embedding scale, sliding layers among full ones, a tied head) it changes:
/// RMSNorm as x̂·w in fp32 (weights around 1) and values RMS-normalised without a weight; q/k/v norms in place of the
/// query scale (scores unscaled); full-attention layers with their own head size (global_head_dim) and proportional
/// RoPE (partial_rotary_factor of the frequency pairs rotate, the rest stay), where attention_k_eq_v takes the values
/// from the raw keys over num_global_key_value_heads heads; the last num_kv_shared_layers layers attend over the last
/// earlier layer of their kind's keys and values, with twice-wide MLPs under use_double_wide_mlp; per-layer inputs
/// (hidden_size_per_layer_input); each layer's output times its stored layer_scalar; final logit soft-capping.
/// Under enable_moe_block (gemma-4-26B-A4B) every layer also has a mixture of experts beside its dense MLP
/// (<see cref="MixtureOfExperts.BesideDenseMlp"/>: num_experts, top_k_experts, moe_intermediate_size, the experts stored
/// fused as experts.gate_up_proj and experts.down_proj). Bidirectional attention is refused by its key.
/// </summary>
public sealed class Gemma4Family : ModelFamily
{
    public override IReadOnlyList<string> ModelTypes => ["gemma4_text", "gemma4"];
    internal override string ActivationKey => "hidden_activation";
    internal override bool TiedByDefault => true;
    internal override int DefaultMaxPositions => 131_072;

    internal override JsonField TextConfig(JsonField f) =>
        f.String("model_type") == "gemma4" ? f.Required("text_config", "the text model's config (Gemma4TextConfig)").AsObject() : f;

    internal override ModelConfig Read(JsonField f, ModelConfig c)
    {
        if (f.OptionalString("use_bidirectional_attention") == "all")
            throw f.Invalid("use_bidirectional_attention", "is 'all': bidirectional attention over every token is not a causal language model; expected null or 'vision'");
        int headDim = f.OptionalInt("head_dim") ?? 256;
        if (headDim <= 0 || headDim % 2 != 0) throw f.Invalid("head_dim", $"is {headDim}; expected a positive even number");
        c = c with { HeadDim = headDim };
        var gemma = GemmaQuirks.Apply(f, c, defaultSlidingPattern: 6);
        var sliding = gemma.SlidingLayers!;
        if (sliding[^1])
            throw f.Invalid("layer_types", "ends with sliding_attention; Gemma 4's last layer is full_attention (transformers forces it)");
        int globalHeadDim = f.OptionalInt("global_head_dim") ?? 512;
        if (globalHeadDim <= 0 || globalHeadDim % 2 != 0 || globalHeadDim > ModelDimensionLimits.MaxHeadDim)
            throw f.Invalid("global_head_dim", $"is {globalHeadDim}; expected a positive even number up to {ModelDimensionLimits.MaxHeadDim}");
        bool keysAsValues = f.OptionalBool("attention_k_eq_v") ?? false;
        int? globalKvHeads = f.OptionalInt("num_global_key_value_heads");
        if (keysAsValues && globalKvHeads is null)
            throw f.Missing("num_global_key_value_heads", "an integer (the full-attention layers' key heads under attention_k_eq_v)");
        if (keysAsValues && (globalKvHeads <= 0 || c.NumHeads % globalKvHeads != 0))
            throw f.Invalid("num_global_key_value_heads", $"is {globalKvHeads}; expected a positive divisor of num_attention_heads ({c.NumHeads})");
        int shared = f.OptionalInt("num_kv_shared_layers") ?? 0;
        if (shared < 0 || shared >= c.NumLayers)
            throw f.Invalid("num_kv_shared_layers", $"is {shared}; expected 0 to {c.NumLayers - 1} (fewer than num_hidden_layers)");
        int perLayer = f.OptionalInt("hidden_size_per_layer_input") ?? 256;
        if (perLayer < 0 || perLayer > ModelDimensionLimits.MaxHidden)
            throw f.Invalid("hidden_size_per_layer_input", $"is {perLayer}; expected 0 (none) or a positive integer up to {ModelDimensionLimits.MaxHidden}");
        int perLayerVocab = f.OptionalInt("vocab_size_per_layer_input") ?? 262_144;
        if (perLayer > 0 && (perLayerVocab < c.VocabSize || perLayerVocab > ModelDimensionLimits.MaxVocab))
            throw f.Invalid("vocab_size_per_layer_input", $"is {perLayerVocab}; expected at least vocab_size ({c.VocabSize}), as every token id looks up its per-layer embedding, and at most {ModelDimensionLimits.MaxVocab}");
        var config = gemma with
        {
            SlidingWindow = gemma.SlidingWindow ?? 512,
            Norm = NormKind.ScaledInFloat32,
            QkNorm = true,
            ValueNorm = true,
            AttentionSoftcap = null,
            AttentionMultiplier = 1.0,
            QueryPreAttentionScalar = null,
            GlobalHeadDim = globalHeadDim == headDim ? null : globalHeadDim,
            GlobalKeysAsValues = keysAsValues,
            GlobalKvHeads = keysAsValues ? globalKvHeads : null,
            KvSharedLayers = shared,
            DoubleWideSharedMlp = f.OptionalBool("use_double_wide_mlp") ?? false,
            LayerScalar = true,
            PerLayerInputs = perLayer > 0 ? new PerLayerInputs(perLayer, perLayerVocab) : null,
            CheckpointStack = c.ModelType == "gemma4" ? "model.language_model" : null,
            Experts = f.OptionalBool("enable_moe_block") == true ? ReadExperts(f) : null,
        };
        for (int l = 0; l < c.NumLayers; l++)
            if (l >= c.NumLayers - shared && config.KvSourceOf(l) is null)
                throw f.Invalid("num_kv_shared_layers", $"is {shared}: layer {l} ({(sliding[l] ? "sliding" : "full")}_attention) shares keys and values, and no earlier layer of its kind has its own");
        var (global, local) = ReadRope(f, headDim, globalHeadDim);
        return config with { Rope = global, LocalRope = local };
    }

    /// <summary>
    /// The mixture of experts beside every layer's MLP under enable_moe_block: Gemma4TextConfig's num_experts, top_k_experts and
    /// moe_intermediate_size (no defaults: transformers leaves them null), the top-k weights always renormalised, no
    /// load-balancing loss (Gemma4ForCausalLM adds none).
    /// </summary>
    static MixtureOfExperts ReadExperts(JsonField f)
    {
        int experts = f.OptionalInt("num_experts") ?? throw f.Missing("num_experts", "an integer (the experts of each layer, under enable_moe_block)");
        if (experts < 1 || experts > ModelDimensionLimits.MaxExperts)
            throw f.Invalid("num_experts", $"is {experts}; expected 1 to {ModelDimensionLimits.MaxExperts}");
        int perToken = f.OptionalInt("top_k_experts") ?? throw f.Missing("top_k_experts", "an integer (the experts each token is routed to, under enable_moe_block)");
        if (perToken < 1 || perToken > experts)
            throw f.Invalid("top_k_experts", $"is {perToken}; expected 1 to num_experts ({experts})");
        int width = f.OptionalInt("moe_intermediate_size") ?? throw f.Missing("moe_intermediate_size", "an integer (each expert's MLP width, under enable_moe_block)");
        if (width < 1 || width > ModelDimensionLimits.MaxIntermediate)
            throw f.Invalid("moe_intermediate_size", $"is {width}; expected 1 to {ModelDimensionLimits.MaxIntermediate}");
        return new MixtureOfExperts { NumExperts = experts, ExpertsPerToken = perToken, ExpertIntermediateSize = width, NormTopKProb = true, BesideDenseMlp = true };
    }

    /// <summary>
    /// The full-attention and sliding layers' RoPE from rope_parameters keyed by layer type (Gemma4TextConfig's defaults
    /// where it is absent: proportional with 0.25 and base 1e6 globally, default with base 1e4 locally).
    /// </summary>
    static (RopeConfig Global, RopeConfig Local) ReadRope(JsonField f, int headDim, int globalHeadDim)
    {
        if (f.Object("rope_parameters") is not JsonField byType) return (new RopeConfig(1_000_000.0, "proportional") { RotatedFraction = 0.25 }, new RopeConfig(10_000.0));
        var full = byType.Required("full_attention", "the full-attention layers' RoPE parameters").AsObject();
        var local = byType.Optional("sliding_attention") is JsonField l ? Read(l.AsObject(), false) : new RopeConfig(10_000.0);
        return (Read(full, globalHeadDim != headDim), local);

        static RopeConfig Read(JsonField p, bool largerHeads)
        {
            double theta = p.OptionalDouble("rope_theta") ?? throw p.Missing("rope_theta", "a number");
            var type = p.OptionalString("rope_type") ?? "default";
            if (type == "default")
            {
                if (largerHeads)
                    throw p.Invalid("rope_type", "is 'default', which transformers computes over head_dim, not the full-attention layers' global_head_dim; expected 'proportional'");
                return new RopeConfig(theta);
            }
            if (type != "proportional") throw p.Invalid("rope_type", $"is '{type}'; expected default or proportional");
            double fraction = p.OptionalDouble("partial_rotary_factor") ?? 1.0;
            if (!(fraction > 0 && fraction <= 1)) throw p.Invalid("partial_rotary_factor", $"is {fraction}; expected a fraction in (0, 1]");
            double factor = p.OptionalDouble("factor") ?? 1.0;
            if (!(factor > 0)) throw p.Invalid("factor", $"is {factor}; expected a positive number");
            return new RopeConfig(theta, "proportional", factor) { RotatedFraction = fraction };
        }
    }
}
