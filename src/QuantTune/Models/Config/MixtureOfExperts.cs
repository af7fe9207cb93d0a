using QuantTune.IO;

namespace QuantTune.Models.Config;

/// <summary>
/// A sparse mixture-of-experts MLP (transformers' Qwen3MoeSparseMoeBlock): a router
/// (<c>gate</c>, Linear hidden → <see cref="NumExperts"/> without bias) scores each token, the
/// softmax in fp32 picks the top <see cref="ExpertsPerToken"/> experts, their weights are
/// renormalised to sum to one when <see cref="NormTopKProb"/>, and the token's output is the
/// weighted sum of those experts' SwiGLU MLPs of width <see cref="ExpertIntermediateSize"/>.
/// A layer is sparse when it is not in <see cref="DenseLayers"/> (mlp_only_layers) and
/// (layer + 1) is a multiple of <see cref="SparseStep"/> (decoder_sparse_step); the others keep
/// the dense MLP of intermediate_size. A <see cref="Shared"/> expert, where the family has one
/// (Qwen2-MoE), runs on every token beside the routed ones. Gemma 4's block (<see cref="BesideDenseMlp"/>) runs beside the
/// layer's dense MLP instead of in its place.
/// </summary>
public sealed record MixtureOfExperts
{
    /// <summary>num_experts: the experts of each sparse layer.</summary>
    public required int NumExperts { get; init; }
    /// <summary>num_experts_per_tok: the experts each token is routed to (top-k).</summary>
    public required int ExpertsPerToken { get; init; }
    /// <summary>moe_intermediate_size: the width of each expert's MLP.</summary>
    public required int ExpertIntermediateSize { get; init; }
    /// <summary>norm_topk_prob: the top-k routing weights divided by their sum.</summary>
    public bool NormTopKProb { get; init; }
    /// <summary>decoder_sparse_step: every this-many-th layer is sparse (1: all).</summary>
    public int SparseStep { get; init; } = 1;
    /// <summary>mlp_only_layers: layers that keep the dense MLP whatever the step.</summary>
    public IReadOnlyList<int> DenseLayers { get; init; } = [];
    /// <summary>router_aux_loss_coef: the load-balancing loss's weight in the training loss.</summary>
    public double RouterAuxLossCoef { get; init; }
    /// <summary>output_router_logits: whether transformers' forward adds the load-balancing loss by default.</summary>
    public bool OutputRouterLogits { get; init; }
    /// <summary>The expert every token runs through beside its routed ones (Qwen2-MoE's shared_expert); null: none.</summary>
    public SharedExpert? Shared { get; init; }
    /// <summary>
    /// Gemma 4's mixture-of-experts block (enable_moe_block; transformers' Gemma4TextRouter and Gemma4TextExperts): the
    /// experts run beside the layer's dense MLP, not in its place, on pre_feedforward_layernorm_2 of the hidden state after
    /// attention; the MLP's output through post_feedforward_layernorm_1 and the experts' through post_feedforward_layernorm_2
    /// are summed before post_feedforward_layernorm. The router (<c>router.proj</c>) reads that hidden state RMS-normalised
    /// without a weight, times <c>router.scale</c> and hidden_size^-0.5, and multiplies each renormalised top-k weight by
    /// its expert's <c>router.per_expert_scale</c>. The experts sit at the layer's level (<c>experts</c>), not under mlp.
    /// </summary>
    public bool BesideDenseMlp { get; init; }
    /// <summary>The checkpoint's names of each expert's projections (<see cref="ModuleNames.Gate"/>, <see cref="ModuleNames.Up"/>, <see cref="ModuleNames.Down"/>): Llama's gate_proj, up_proj, down_proj unless the family names them otherwise (Mixtral's w1, w3, w2).</summary>
    public ModuleNames ExpertNames { get; init; } = ModuleNames.Llama;

    /// <summary>The router's name in the layer's MLP: gate (Qwen-MoE, Mixtral), or router (gpt-oss).</summary>
    public string RouterName { get; init; } = "gate";
    /// <summary>A bias on the router's logits (gpt-oss's router is a Linear with bias).</summary>
    public bool RouterBias { get; init; }
    /// <summary>
    /// The routing weights are the softmax of the top k logits alone (gpt-oss: topk, then softmax over those k), not the
    /// top k of the softmax over every expert.
    /// </summary>
    public bool SoftmaxOverTopK { get; init; }
    /// <summary>Biases on each expert's gate, up and down projections (gpt-oss's gate_up_proj_bias, down_proj_bias).</summary>
    public bool ExpertBias { get; init; }
    /// <summary>The experts' clamped SwiGLU in place of silu(gate)·up (gpt-oss); null: the config's activation.</summary>
    public ClampedSwiGlu? ClampedActivation { get; init; }
    /// <summary>
    /// The checkpoint keeps each layer's experts as gpt-oss does (<see cref="Loading.InterleavedExperts"/>): one
    /// <c>experts.gate_up_proj</c> whose gate and up columns interleave and one <c>experts.down_proj</c>, in bf16/fp32 or
    /// as MXFP4 blocks and scales, instead of <c>experts.N.{gate,up,down}_proj</c> or transformers 5's fused rows.
    /// </summary>
    public bool StoredInterleaved { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> holds experts (Qwen3MoeDecoderLayer's rule).</summary>
    public bool IsSparse(int layer) => !DenseLayers.Contains(layer) && NumExperts > 0 && (layer + 1) % SparseStep == 0;

    /// <summary>
    /// Qwen3MoeConfig's MoE keys (defaults as Qwen3MoeConfig's: 128 experts, 8 per token, width
    /// 768, norm_topk_prob false, step 1, no dense layers, coefficient 0.001; another family's
    /// config class passes its own defaults). Errors name the file and the key.
    /// </summary>
    internal static MixtureOfExperts Read(JsonField f, int layers, int defaultExperts = 128, int defaultPerToken = 8, int defaultWidth = 768)
    {
        string expertsKey = f.Has("num_experts") || !f.Has("num_local_experts") ? "num_experts" : "num_local_experts"; // the latter: Qwen3MoeConfig's attribute_map
        int experts = f.OptionalInt(expertsKey) ?? defaultExperts;
        int perToken = f.OptionalInt("num_experts_per_tok") ?? defaultPerToken;
        int width = f.OptionalInt("moe_intermediate_size") ?? defaultWidth;
        int step = f.OptionalInt("decoder_sparse_step") ?? 1;
        if (experts < 1 || experts > ModelDimensionLimits.MaxExperts)
            throw f.Invalid(expertsKey, $"is {experts}; expected 1 to {ModelDimensionLimits.MaxExperts}");
        if (perToken < 1 || perToken > experts)
            throw f.Invalid("num_experts_per_tok", $"is {perToken}; expected 1 to num_experts ({experts})");
        if (width < 1 || width > ModelDimensionLimits.MaxIntermediate)
            throw f.Invalid("moe_intermediate_size", $"is {width}; expected 1 to {ModelDimensionLimits.MaxIntermediate}");
        if (step < 1) throw f.Invalid("decoder_sparse_step", $"is {step}; expected a positive integer");
        var dense = f.Optional("mlp_only_layers") is JsonField list ? list.Items().Select(i => i.GetInt32()).ToArray() : [];
        if (dense.FirstOrDefault(l => l < 0 || l >= layers, -1) is int bad && bad != -1)
            throw f.Invalid("mlp_only_layers", $"holds {bad}; expected layer indices 0 to {layers - 1}");
        double coef = f.OptionalDouble("router_aux_loss_coef") ?? 0.001;
        if (!(coef >= 0)) throw f.Invalid("router_aux_loss_coef", $"is {coef}; expected zero or a positive number");
        return new MixtureOfExperts
        {
            NumExperts = experts,
            ExpertsPerToken = perToken,
            ExpertIntermediateSize = width,
            NormTopKProb = f.OptionalBool("norm_topk_prob") ?? false,
            SparseStep = step,
            DenseLayers = dense,
            RouterAuxLossCoef = coef,
            OutputRouterLogits = f.OptionalBool("output_router_logits") ?? false,
        };
    }
}
