using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>
/// The load-balancing loss a mixture-of-experts model adds to its training loss
/// (transformers' MoE causal LMs: loss += router_aux_loss_coef · <see cref="LoadBalancingLoss"/>
/// over the router logits of all sparse layers): <see cref="Record"/> collects the router logits
/// of one forward, with their autograd graph, and computes the loss from them.
/// </summary>
public sealed class RouterAuxLoss
{
    readonly IReadOnlyList<SparseMoeBlock> _blocks;

    /// <summary>router_aux_loss_coef: the loss's weight in the training loss.</summary>
    public double Coefficient { get; }
    public int NumExperts { get; }
    public int ExpertsPerToken { get; }

    RouterAuxLoss(IReadOnlyList<SparseMoeBlock> blocks, double coefficient, int experts, int perToken)
    {
        _blocks = blocks;
        Coefficient = coefficient;
        NumExperts = experts;
        ExpertsPerToken = perToken;
    }

    /// <summary>The loss of <paramref name="model"/>: null for a dense model or a coefficient of zero.</summary>
    public static RouterAuxLoss? For(CausalLM model)
    {
        if (model.Config.Experts is not { RouterAuxLossCoef: > 0 } moe) return null;
        var blocks = model.modules().OfType<SparseMoeBlock>().ToList();
        return blocks.Count == 0 ? null : new RouterAuxLoss(blocks, moe.RouterAuxLossCoef, moe.NumExperts, moe.ExpertsPerToken);
    }

    /// <summary>Starts collecting the router logits of the forwards that follow, until the recording is disposed.</summary>
    public Recording Record() => new(this);

    /// <summary>The router logits of the forwards run while it lives; disposing it stops the collection and frees them.</summary>
    public sealed class Recording : IDisposable
    {
        readonly RouterAuxLoss _owner;
        readonly List<Tensor> _logits = [];

        internal Recording(RouterAuxLoss owner)
        {
            _owner = owner;
            foreach (var b in owner._blocks) b.RouterLogits = _logits;
        }

        /// <summary>
        /// The unscaled loss of what was recorded, for a batch with <paramref name="attentionMask"/>
        /// [B, T] (null: no padding). Where the model ran on more positions than the mask has (prompt
        /// tuning's virtual tokens before the text), those count as tokens, as PEFT's forward extends
        /// the mask with ones.
        /// </summary>
        public Tensor Loss(Tensor? attentionMask)
        {
            if (_logits.Count == 0) throw new InvalidOperationException("no router logits were recorded: no forward ran through a sparse layer");
            using var scope = NewDisposeScope();
            var mask = attentionMask;
            if (mask is not null)
            {
                long batch = mask.shape[0], positions = _logits[0].shape[0] / batch;
                if (positions * batch != _logits[0].shape[0] || positions < mask.shape[1])
                    throw new InvalidOperationException($"router logits of {_logits[0].shape[0]} tokens per layer do not fit an attention mask of [{batch}, {mask.shape[1]}]");
                if (positions > mask.shape[1])
                    mask = cat([ones(batch, positions - mask.shape[1], mask.dtype, mask.device), mask], 1);
            }
            return LoadBalancingLoss.Compute(_logits, _owner.NumExperts, _owner.ExpertsPerToken, mask).MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            foreach (var b in _owner._blocks) b.RouterLogits = null;
            foreach (var t in _logits) t.Dispose();
            _logits.Clear();
        }
    }
}
