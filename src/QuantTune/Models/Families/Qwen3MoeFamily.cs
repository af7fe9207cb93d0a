using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Qwen3-MoE (<c>qwen3_moe</c>: Qwen3-30B-A3B, Qwen3-Coder-30B-A3B): Qwen3's decoder (q/k norms,
/// explicit head_dim) whose MLP is a sparse mixture of experts (<see cref="MixtureOfExperts"/>):
/// a router <c>mlp.gate</c> and <c>mlp.experts.N.{gate,up,down}_proj</c> in every layer that
/// decoder_sparse_step and mlp_only_layers make sparse, the dense MLP of intermediate_size in the
/// others.
/// </summary>
public sealed class Qwen3MoeFamily : ModelFamily
{
    static readonly Qwen3Family Dense = new();

    public override IReadOnlyList<string> ModelTypes => ["qwen3_moe"];

    internal override ModelConfig Read(JsonField f, ModelConfig c) =>
        Dense.Read(f, c) with { Experts = MixtureOfExperts.Read(f, c.NumLayers) };
}
