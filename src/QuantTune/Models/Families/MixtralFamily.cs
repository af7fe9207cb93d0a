using QuantTune.IO;
using QuantTune.Models.Config;

namespace QuantTune.Models.Families;

/// <summary>
/// Mixtral (<c>mixtral</c>: Mixtral-8x7B, 8x22B): Mistral's decoder (sliding-window attention on
/// every layer when sliding_window is set) whose every MLP is a sparse mixture of experts
/// (<see cref="MixtureOfExperts"/>) under Mixtral's own names: the router
/// <c>block_sparse_moe.gate</c> and the experts <c>block_sparse_moe.experts.N.{w1,w3,w2}</c> (gate,
/// up, down) of intermediate_size; num_local_experts experts, the top num_experts_per_tok
/// softmax weights always renormalised to sum to one.
/// </summary>
public sealed class MixtralFamily : ModelFamily
{
    static readonly MistralFamily Dense = new();

    /// <summary>MixtralBlockSparseTop2MLP's attribute names: w1 the gate, w3 the up, w2 the down projection.</summary>
    public static readonly ModuleNames ExpertNames = ModuleNames.Llama with { Gate = "w1", Up = "w3", Down = "w2" };

    /// <summary>MixtralDecoderLayer's name for its sparse block (router <c>gate</c> and <c>experts</c>), in place of <c>mlp</c>.</summary>
    public const string SparseBlock = "block_sparse_moe";

    public override IReadOnlyList<string> ModelTypes => ["mixtral"];

    internal override ModelConfig Read(JsonField f, ModelConfig c) =>
        Dense.Read(f, c) with
        {
            Names = c.Names with { Mlp = SparseBlock },
            // MixtralConfig's defaults: 8 experts, 2 per token; the experts are intermediate_size wide
            Experts = MixtureOfExperts.Read(f, c.NumLayers, defaultExperts: 8, defaultPerToken: 2, defaultWidth: c.IntermediateSize) with
            {
                NormTopKProb = true,
                ExpertNames = ExpertNames,
            },
        };
}
