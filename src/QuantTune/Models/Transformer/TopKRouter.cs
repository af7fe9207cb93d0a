using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// A mixture of experts' router (the checkpoint's <c>mlp.gate</c>, weight [experts, hidden], no
/// bias; transformers' Qwen3MoeTopKRouter): logits = x Wᵀ, then the softmax over experts in fp32,
/// the top k, renormalised to sum to one where norm_topk_prob says so, cast back to the input's
/// dtype. Not a <see cref="Layers.Linear"/>: like transformers' router it is left out of
/// "all-linear" adapter targets and of 4-bit quantization, so routing stays as trained.
/// </summary>
public sealed class TopKRouter : nn.Module<Tensor, Tensor>
{
    public readonly TorchSharp.Modules.Parameter weight;
    readonly int _topK;
    readonly bool _normalize;

    public TopKRouter(ModelConfig c, MixtureOfExperts moe, ScalarType dtype, Device device) : base(nameof(TopKRouter))
    {
        weight = new TorchSharp.Modules.Parameter(empty([moe.NumExperts, c.HiddenSize], dtype, device));
        _topK = moe.ExpertsPerToken;
        _normalize = moe.NormTopKProb;
        RegisterComponents();
    }

    /// <summary>The router logits [tokens, experts] of hidden states [tokens, hidden], in their dtype.</summary>
    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight);

    /// <summary>The routing weights [tokens, k] (in <paramref name="dtype"/>) and the chosen experts [tokens, k] (int64) of router logits [tokens, experts].</summary>
    public (Tensor Weights, Tensor Experts) Route(Tensor logits, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var probabilities = nn.functional.softmax(logits, 1, ScalarType.Float32);
        var (top, experts) = probabilities.topk(_topK, dim: -1);
        if (_normalize) top = top / top.sum(-1, keepdim: true);
        return (top.to_type(dtype).MoveToOuterDisposeScope(), experts.MoveToOuterDisposeScope());
    }
}
