using QuantTune.Runtime;
using QuantTune.Training.Data;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// Per sequence of a batch: the sum of the model's log-probabilities of its labelled tokens (the completion) and
/// their number, and where asked the mean NLL per token of whole sequences, computed as <see cref="ChunkedLoss"/>
/// computes cross-entropy: the LM head and the fp32 log-softmax on one chunk of positions at a time, so that the
/// [rows, T, vocabulary] logits never exist whole.
/// <para>
/// For training (<see cref="Backward"/>) the sums are first computed without autograd; the loss is taken on them
/// as leaves, which gives its gradient with respect to each row's sum and to the NLL; then each chunk's logits are
/// made again from a detached copy of the hidden states and back-propagated at once with those gradients as
/// weights, and the summed gradient of the hidden states flows back through the model in one pass. The result
/// equals the unchunked one up to floating-point summation order.
/// </para>
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>The per-row sums [R] and counts [R] (float32), and the NLL (a scalar) when <paramref name="sequenceLabels"/> are given, without autograd.</summary>
    /// <param name="nllRows">The first rows whose <paramref name="sequenceLabels"/> make the NLL (the chosen ones).</param>
    public static (Tensor Sums, Tensor Counts, Tensor? Nll) Compute(LanguageModelForward forward, Tensor ids, Tensor labels, Tensor? sequenceLabels = null, long nllRows = 0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (sums, counts, nll) = Sums(forward.Hidden(ids), forward.Head, labels, sequenceLabels, nllRows);
        return (sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope(), nll?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Back-propagates a loss of the per-row sums (and of the NLL) from the hidden states [R, T, H]:
    /// <paramref name="loss"/> gets the sums [R] and the NLL as leaves and returns the scalar to differentiate
    /// (already scaled for gradient accumulation); its gradient reaches the model through the chunks. Returns
    /// what <paramref name="loss"/> returned, and the sums and counts. <paramref name="chunkPositions"/>: positions per chunk
    /// (null: <see cref="ChunkedLoss.ChunkPositions"/> of the vocabulary).
    /// </summary>
    public static (T Result, Tensor Sums, Tensor Counts) Backward<T>(Tensor hidden, Func<Tensor, Tensor> head, Tensor labels, Tensor? sequenceLabels, long nllRows,
        Func<Tensor, Tensor, Tensor?, (T Result, Tensor Loss)> loss, long? chunkPositions = null)
    {
        long width = hidden.shape[^1];
        using var cut = hidden.detach().requires_grad_(hidden.requires_grad);
        Tensor sums, counts;
        Tensor? nll;
        using (no_grad()) (sums, counts, nll) = Sums(cut, head, labels, sequenceLabels, nllRows, chunkPositions);
        using var sumLeaf = sums.detach().requires_grad_(true);
        using var nllLeaf = nll?.detach().requires_grad_(true);
        var (result, scalar) = loss(sumLeaf, counts, nllLeaf);
        if (!scalar.requires_grad) return (result, sums, counts);
        scalar.backward();
        using var rowWeight = sumLeaf.grad?.detach().clone() ?? zeros_like(sums);
        double nllWeight = nllLeaf?.grad is { } g ? g.item<float>() : 0;
        // d NLL / d log p of one sequence token = −1 / (the NLL's token count).
        double nllCount = sequenceLabels is null ? 1 : Math.Max(1, CountOf(sequenceLabels.narrow(0, 0, nllRows)));
        var flat = cut.reshape(-1, width);
        var flatLabels = labels.reshape(-1);
        var flatSequence = sequenceLabels?.reshape(-1);
        long positions = flat.shape[0], perRow = labels.shape[1], step = chunkPositions ?? 0;
        using var rowOf = PinnedScalarMath.Arange(positions, ScalarType.Int64, labels.device).FloorDividedBy(perRow);
        using var positionWeight = rowWeight.index_select(0, rowOf);
        for (long start = 0; start < positions; start += step)
        {
            using var scope = NewDisposeScope();
            long length = Math.Min(Chunk(flat, head, start, ref step), positions - start);
            var logps = head(flat.narrow(0, start, length)).to_type(ScalarType.Float32).log_softmax(-1);
            var total = (Token(logps, flatLabels.narrow(0, start, length)) * positionWeight.narrow(0, start, length)).sum();
            if (flatSequence is not null && nllWeight != 0)
            {
                var chosen = rowOf.narrow(0, start, length).LessThan(nllRows);
                var sequenceToken = Token(logps, flatSequence.narrow(0, start, length));
                total = total.Plus(where(chosen, sequenceToken, zeros_like(sequenceToken)).sum(), -nllWeight / nllCount);
            }
            if (total.requires_grad) total.backward();
        }
        if (hidden.requires_grad && cut.grad is { } grad) autograd.backward([hidden], [grad]);
        return (result, sums, counts);
    }

    static (Tensor Sums, Tensor Counts, Tensor? Nll) Sums(Tensor hidden, Func<Tensor, Tensor> head, Tensor labels, Tensor? sequenceLabels, long nllRows, long? chunkPositions = null)
    {
        long rows = labels.shape[0], width = hidden.shape[^1];
        var flat = hidden.reshape(-1, width);
        var flatLabels = labels.reshape(-1);
        var flatSequence = sequenceLabels?.reshape(-1);
        long positions = flat.shape[0], step = chunkPositions ?? 0;
        var tokens = new List<Tensor>();
        var sequenceTokens = new List<Tensor>();
        for (long start = 0; start < positions; start += step)
        {
            long length = Math.Min(Chunk(flat, head, start, ref step), positions - start);
            using var scope = NewDisposeScope();
            var logps = head(flat.narrow(0, start, length)).to_type(ScalarType.Float32).log_softmax(-1);
            tokens.Add(Token(logps, flatLabels.narrow(0, start, length)).MoveToOuterDisposeScope());
            if (flatSequence is not null) sequenceTokens.Add(Token(logps, flatSequence.narrow(0, start, length)).MoveToOuterDisposeScope());
        }
        var sums = cat(tokens, 0).view(rows, -1).sum(1);
        var counts = labels.NotEqualTo(TokenizedExample.Ignore).to_type(ScalarType.Float32).sum(1);
        Tensor? nll = null;
        if (flatSequence is not null)
        {
            var perRow = cat(sequenceTokens, 0).view(rows, -1).narrow(0, 0, nllRows).sum();
            nll = perRow.neg().DividedBy(Math.Max(1, CountOf(sequenceLabels!.narrow(0, 0, nllRows))));
        }
        foreach (var t in tokens.Concat(sequenceTokens)) t.Dispose();
        return (sums, counts, nll);
    }

    /// <summary>log p of each position's label (0 where the label is ignored).</summary>
    static Tensor Token(Tensor logps, Tensor labels)
    {
        var valid = labels.NotEqualTo(TokenizedExample.Ignore);
        var token = logps.gather(-1, labels.ClampedMin(0L).unsqueeze(-1)).squeeze(-1);
        return where(valid, token, zeros_like(token));
    }

    static long CountOf(Tensor labels)
    {
        using var n = labels.NotEqualTo(TokenizedExample.Ignore).sum();
        return n.item<long>();
    }

    /// <summary>The chunk length: <see cref="ChunkedLoss.ChunkPositions"/> of the vocabulary, which the head's output on one position tells the first time.</summary>
    static long Chunk(Tensor flat, Func<Tensor, Tensor> head, long start, ref long step)
    {
        if (step > 0) return step;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        step = ChunkedLoss.ChunkPositions(head(flat.narrow(0, start, 1)).shape[^1]);
        return step;
    }
}
