using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>
/// The load-balancing auxiliary loss of a mixture of experts (Switch Transformer eq. 4-6;
/// transformers' <c>load_balancing_loss_func</c>, step for step): the router logits of every sparse
/// layer concatenated, their softmax, each token's top-k experts one-hot; with f the fraction of
/// tokens routed to each expert per top-k slot [k, experts] and P the mean routing probability per
/// expert, the loss is experts · Σ f·P. With an attention mask [B, T] (1: token, 0: padding) both
/// means are over the tokens only. Only P carries a gradient.
/// </summary>
public static class LoadBalancingLoss
{
    /// <param name="gateLogits">each sparse layer's router logits [B·T, experts], rows ordered by batch row, then position</param>
    /// <param name="attentionMask">[B, T], or null when every position is a token</param>
    public static Tensor Compute(IReadOnlyList<Tensor> gateLogits, int numExperts, int topK, Tensor? attentionMask)
    {
        if (gateLogits.Count == 0) throw new ArgumentException("expected the router logits of at least one sparse layer", nameof(gateLogits));
        using var scope = NewDisposeScope();
        var device = gateLogits[0].device;
        var concatenated = cat(gateLogits.Select(l => l.to(device)).ToArray(), 0);
        var routing = nn.functional.softmax(concatenated, -1);
        var (_, selected) = routing.topk(topK, dim: -1);
        var expertMask = nn.functional.one_hot(selected, numExperts).to_type(ScalarType.Float32);
        Tensor tokensPerExpert, routerProbPerExpert;
        if (attentionMask is null)
        {
            tokensPerExpert = expertMask.mean([0]);
            routerProbPerExpert = routing.mean([0]);
        }
        else
        {
            long layers = concatenated.shape[0] / attentionMask.numel();
            // The mask per row of the concatenation (layer, then batch row, then position), broadcast over
            // slots and experts: transformers' expert_attention_mask and router_per_expert_attention_mask.
            var mask = attentionMask.to(device).to_type(ScalarType.Float32).reshape(-1).repeat(layers);
            var tokens = mask.sum();
            tokensPerExpert = (expertMask * mask.reshape(-1, 1, 1)).sum(dim: 0) / tokens;
            routerProbPerExpert = (routing * mask.reshape(-1, 1)).sum(dim: 0) / tokens;
        }
        return ((tokensPerExpert * routerProbPerExpert.unsqueeze(0)).sum().Times((long)numExperts)).MoveToOuterDisposeScope();
    }
}
