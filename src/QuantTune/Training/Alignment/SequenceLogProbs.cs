using QuantTune.Runtime;
using QuantTune.Training.Data;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// Per sequence of a batch: the sum of the model's log-probabilities of its labelled tokens (the completion), their
/// number, and where asked the NLL of whole sequences. Every row's logits are computed in fp32 and kept for
/// backward (the [rows, T, vocabulary] log-softmax; TRL's concatenated forward holds the same).
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>Σ log p of the labelled tokens of each row [R] and their count [R] (float32).</summary>
    /// <param name="sequenceLabels">When given, also the mean NLL per token over these labels' rows <paramref name="nllRows"/> (a scalar).</param>
    public static (Tensor Sums, Tensor Counts, Tensor? Nll) Compute(LanguageModelForward forward, Tensor ids, Tensor labels, Tensor? sequenceLabels = null, long nllRows = 0)
    {
        using var scope = NewDisposeScope();
        var logps = forward.Head(forward.Hidden(ids)).to_type(ScalarType.Float32).log_softmax(-1);
        var (sums, counts) = Gather(logps, labels);
        Tensor? nll = null;
        if (sequenceLabels is not null)
        {
            var (s, c) = Gather(logps.narrow(0, 0, nllRows), sequenceLabels.narrow(0, 0, nllRows));
            nll = s.sum().neg() / c.sum().ClampedMin(1.0);
        }
        return (sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope(), nll?.MoveToOuterDisposeScope());
    }

    static (Tensor Sums, Tensor Counts) Gather(Tensor logps, Tensor labels)
    {
        var valid = labels.NotEqualTo(TokenizedExample.Ignore);
        var token = logps.gather(-1, labels.ClampedMin(0L).unsqueeze(-1)).squeeze(-1);
        var masked = where(valid, token, zeros_like(token));
        return (masked.sum(1), valid.to_type(ScalarType.Float32).sum(1));
    }
}
