using QuantTune.Runtime;
using QuantTune.Training.Data;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// The log-probability of each position's label [R, T] (0 where the label is ignored), computed a chunk of positions
/// at a time as <see cref="ChunkedLoss"/> does, so that the [R, T, vocabulary] logits never exist whole. For training
/// (<see cref="Backward"/>) they are computed without autograd, the loss is taken on them as a leaf, and each chunk's
/// logits are made again from a detached copy of the hidden states and back-propagated with the leaf's gradient as
/// weights (as <see cref="SequenceLogProbs.Backward"/> does with per-row sums); the hidden states' summed gradient
/// then flows back through the model in one pass.
/// </summary>
public static class TokenLogProbs
{
    /// <summary>[R, T] float32 log-probabilities of <paramref name="labels"/> under <paramref name="forward"/>, without autograd.</summary>
    public static Tensor Compute(LanguageModelForward forward, Tensor ids, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Of(forward.Hidden(ids), forward.Head, labels).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Back-propagates <paramref name="loss"/> of the per-token log-probabilities from the hidden states [R, T, H]:
    /// <paramref name="loss"/> gets them [R, T] as a leaf and returns what to report and the scalar to differentiate.
    /// </summary>
    public static T Backward<T>(Tensor hidden, Func<Tensor, Tensor> head, Tensor labels, Func<Tensor, (T Result, Tensor Loss)> loss)
    {
        long width = hidden.shape[^1];
        using var cut = hidden.detach().requires_grad_(hidden.requires_grad);
        Tensor logps;
        using (no_grad()) logps = Of(cut, head, labels);
        using var leaf = logps.detach().requires_grad_(true);
        logps.Dispose();
        var (result, scalar) = loss(leaf);
        if (!scalar.requires_grad) return result;
        scalar.backward();
        using var weight = leaf.grad?.detach().reshape(-1).clone() ?? zeros(labels.numel());
        var flat = cut.reshape(-1, width);
        var flatLabels = labels.reshape(-1);
        long positions = flat.shape[0], step = ChunkedLoss.ChunkPositions(VocabularyOf(flat, head));
        for (long start = 0; start < positions; start += step)
        {
            using var scope = NewDisposeScope();
            long length = Math.Min(step, positions - start);
            var token = Token(head(flat.narrow(0, start, length)).to_type(ScalarType.Float32).log_softmax(-1), flatLabels.narrow(0, start, length));
            var total = (token * weight.narrow(0, start, length)).sum();
            if (total.requires_grad) total.backward();
        }
        if (hidden.requires_grad && cut.grad is { } grad) autograd.backward([hidden], [grad]);
        return result;
    }

    static Tensor Of(Tensor hidden, Func<Tensor, Tensor> head, Tensor labels)
    {
        long width = hidden.shape[^1];
        var flat = hidden.reshape(-1, width);
        var flatLabels = labels.reshape(-1);
        long positions = flat.shape[0], step = ChunkedLoss.ChunkPositions(VocabularyOf(flat, head));
        var parts = new List<Tensor>();
        for (long start = 0; start < positions; start += step)
        {
            using var scope = NewDisposeScope();
            long length = Math.Min(step, positions - start);
            parts.Add(Token(head(flat.narrow(0, start, length)).to_type(ScalarType.Float32).log_softmax(-1), flatLabels.narrow(0, start, length)).MoveToOuterDisposeScope());
        }
        var all = cat(parts, 0).view(labels.shape[0], labels.shape[1]);
        foreach (var p in parts) p.Dispose();
        return all;
    }

    static Tensor Token(Tensor logps, Tensor labels)
    {
        var valid = labels.NotEqualTo(TokenizedExample.Ignore);
        var token = logps.gather(-1, labels.ClampedMin(0L).unsqueeze(-1)).squeeze(-1);
        return where(valid, token, zeros_like(token));
    }

    static long VocabularyOf(Tensor flat, Func<Tensor, Tensor> head)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return head(flat.narrow(0, 0, 1)).shape[^1];
    }
}
