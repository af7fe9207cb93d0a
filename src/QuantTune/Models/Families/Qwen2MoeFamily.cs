using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Qwen2-MoE (<c>qwen2_moe</c>: Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B): Qwen2's decoder (q/k/v biases)
/// whose MLP is a sparse mixture of experts (<see cref="MixtureOfExperts"/>) with a shared expert
/// (<see cref="SharedExpert"/>: <c>mlp.shared_expert.{gate,up,down}_proj</c> of
/// shared_expert_intermediate_size, scaled by sigmoid(<c>mlp.shared_expert_gate</c>)) beside the
/// routed <c>mlp.experts.N</c>; decoder_sparse_step and mlp_only_layers as Qwen3-MoE's.
/// </summary>
public sealed class Qwen2MoeFamily : ModelFamily
{
    static readonly Qwen2Family Dense = new();

    public override IReadOnlyList<string> ModelTypes => ["qwen2_moe"];

    internal override ModelConfig Read(JsonField f, ModelConfig c) =>
        Dense.Read(f, c) with
        {
            QkvBias = f.OptionalBool("qkv_bias") ?? true,
            // Qwen2MoeConfig's defaults: 60 experts, 4 per token, width 1408
            Experts = MixtureOfExperts.Read(f, c.NumLayers, defaultExperts: 60, defaultPerToken: 4, defaultWidth: 1408) with { Shared = SharedExpert.Read(f) },
        };
}
