using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>
/// Cross-entropy over a vocabulary of 150K–262K entries without materialising all logits (as
/// Unsloth does): the LM head and the fp32 loss run on one chunk of positions at a time.
/// <para>
/// For training, the graph is cut at the hidden states: each chunk's logits are made from a
/// detached copy, its loss is back-propagated at once (into the copy's gradient and any trainable
/// head weight), and the chunk is freed before the next; then the summed gradient of the hidden
/// states flows back through the model in one pass. At most one chunk of logits and its
/// gradient exist at any time; the result equals the unchunked loss and gradients up to
/// floating-point summation order.
/// </para>
/// </summary>
public static class ChunkedLoss
{
    /// <summary>The logits of one chunk are held to at most this many fp32 values (64 MiB).</summary>
    public const long ChunkElements = 16L << 20;

    /// <summary>Positions per chunk for a vocabulary of <paramref name="vocabulary"/> entries (at least 1).</summary>
    public static long ChunkPositions(long vocabulary) => Math.Max(1, ChunkElements / Math.Max(1, vocabulary));

    /// <summary>
    /// Back-propagates <c>scale · Σ cross-entropy / count</c> of the labels [B, T] (ignored: −100)
    /// from the hidden states [B, T, H], where count is the number of labelled positions, and
    /// returns the unscaled mean loss and that count. <paramref name="afterFirstChunk"/> runs while the first
    /// chunk's logits are alive (for memory measurement). <paramref name="chunkPositions"/>: positions
    /// per chunk (null: <see cref="ChunkPositions"/> of the vocabulary). <paramref name="auxiliary"/>: a
    /// scalar loss from the same forward (a mixture of experts' load-balancing loss) whose gradient,
    /// times its scale, flows back with the hidden states' in the same pass.
    /// </summary>
    public static (double Mean, long Count) Backward(Tensor hidden, Func<Tensor, Tensor> head, Tensor labels, double scale, Action? afterFirstChunk = null, long? chunkPositions = null,
        (Tensor Loss, double Scale)? auxiliary = null)
    {
        long width = hidden.shape[^1];
        var flatLabels = labels.reshape(-1);
        long count;
        using (var valid = flatLabels.NotEqualTo(Data.TokenizedExample.Ignore).sum()) count = valid.item<long>();
        if (count == 0) return (double.NaN, 0);
        using var cut = hidden.detach().requires_grad_(hidden.requires_grad);
        var flat = cut.reshape(-1, width);
        long positions = flat.shape[0];
        double sum = 0;
        long step = chunkPositions ?? 0;
        for (long start = 0; start < positions; start += step)
        {
            using var scope = NewDisposeScope();
            var loss = ChunkSum(flat, head, flatLabels, start, Math.Min(Chunk(flat, head, start, ref step), positions - start));
            sum += loss.item<float>();
            if (start == 0) afterFirstChunk?.Invoke();
            if (loss.requires_grad) loss.Times(scale / count).backward();
        }
        var roots = new List<Tensor>();
        var gradients = new List<Tensor>();
        if (hidden.requires_grad && cut.grad is { } grad) { roots.Add(hidden); gradients.Add(grad); }
        using var auxiliaryGradient = auxiliary is ({ requires_grad: true } a, double s) ? a.FullLike(s) : null;
        if (auxiliaryGradient is not null) { roots.Add(auxiliary!.Value.Loss); gradients.Add(auxiliaryGradient); }
        if (roots.Count > 0) autograd.backward(roots, gradients);
        return (sum / count, count);
    }

    /// <summary>Σ cross-entropy over the labelled positions and their number, chunk by chunk, without autograd.</summary>
    public static (double Sum, long Count) Sum(Tensor hidden, Func<Tensor, Tensor> head, Tensor labels, long? chunkPositions = null)
    {
        using var _ = no_grad();
        long width = hidden.shape[^1];
        var flat = hidden.reshape(-1, width);
        var flatLabels = labels.reshape(-1);
        long positions = flat.shape[0], step = chunkPositions ?? 0;
        double sum = 0;
        for (long start = 0; start < positions; start += step)
        {
            using var scope = NewDisposeScope();
            sum += ChunkSum(flat, head, flatLabels, start, Math.Min(Chunk(flat, head, start, ref step), positions - start)).item<float>();
        }
        using var valid = flatLabels.NotEqualTo(Data.TokenizedExample.Ignore).sum();
        return (sum, valid.item<long>());
    }

    /// <summary>Σ fp32 cross-entropy of the <paramref name="length"/> positions from <paramref name="start"/>: the head on those positions only.</summary>
    static Tensor ChunkSum(Tensor flat, Func<Tensor, Tensor> head, Tensor flatLabels, long start, long length) =>
        nn.functional.cross_entropy(head(flat.narrow(0, start, length)).to_type(ScalarType.Float32), flatLabels.narrow(0, start, length), reduction: nn.Reduction.Sum);

    /// <summary>The chunk length: from the vocabulary, which the head's output on one position tells the first time.</summary>
    static long Chunk(Tensor flat, Func<Tensor, Tensor> head, long start, ref long step)
    {
        if (step > 0) return step;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        step = ChunkPositions(head(flat.narrow(0, start, 1)).shape[^1]);
        return step;
    }
}
