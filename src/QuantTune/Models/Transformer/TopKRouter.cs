using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// A mixture of experts' router (the checkpoint's <c>mlp.gate</c>, weight [experts, hidden], no
/// bias; transformers' Qwen3MoeTopKRouter): logits = x Wᵀ, then the softmax over experts in fp32,
/// the top k, renormalised to sum to one where norm_topk_prob says so, cast back to the input's
/// dtype. gpt-oss's router (<c>mlp.router</c>) has a bias and takes the top k logits first, then their softmax
/// (<see cref="MixtureOfExperts.SoftmaxOverTopK"/>). Not a <see cref="Layers.Linear"/>: like transformers' router it is left out of
/// "all-linear" adapter targets and of 4-bit quantization, so routing stays as trained.
/// </summary>
public sealed class TopKRouter : nn.Module<Tensor, Tensor>
{
    public readonly TorchSharp.Modules.Parameter weight;
    /// <summary>The logits' bias [experts] (gpt-oss); null where the router has none.</summary>
    public readonly TorchSharp.Modules.Parameter? bias;
    readonly int _topK;
    readonly bool _normalize, _softmaxOverTopK;

    public TopKRouter(ModelConfig c, MixtureOfExperts moe, ScalarType dtype, Device device) : base(nameof(TopKRouter))
    {
        weight = new TorchSharp.Modules.Parameter(empty([moe.NumExperts, c.HiddenSize], dtype, device));
        _topK = moe.ExpertsPerToken;
        _normalize = moe.NormTopKProb;
        _softmaxOverTopK = moe.SoftmaxOverTopK;
        if (moe.RouterBias) bias = new TorchSharp.Modules.Parameter(empty([moe.NumExperts], dtype, device));
        RegisterComponents();
    }

    /// <summary>The router logits [tokens, experts] of hidden states [tokens, hidden], in their dtype.</summary>
    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);

    /// <summary>The routing weights [tokens, k] (in <paramref name="dtype"/>) and the chosen experts [tokens, k] (int64) of router logits [tokens, experts].</summary>
    public (Tensor Weights, Tensor Experts) Route(Tensor logits, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        if (_softmaxOverTopK)
        {
            var (logit, chosen) = logits.topk(_topK, dim: -1);
            return (nn.functional.softmax(logit, 1, ScalarType.Float32).to_type(dtype).MoveToOuterDisposeScope(), chosen.MoveToOuterDisposeScope());
        }
        var probabilities = nn.functional.softmax(logits, 1, ScalarType.Float32);
        var (top, experts) = probabilities.topk(_topK, dim: -1);
        if (_normalize) top = top / top.sum(-1, keepdim: true);
        return (top.to_type(dtype).MoveToOuterDisposeScope(), experts.MoveToOuterDisposeScope());
    }
}
