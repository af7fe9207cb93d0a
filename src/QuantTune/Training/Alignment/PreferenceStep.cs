using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// One micro-batch of preference optimisation: the policy's sequence log-probabilities of the batch's rows in one
/// forward (chosen and rejected concatenated), the reference's without autograd when the objective has one, the
/// objective's loss, and its backward scaled for gradient accumulation (through <see cref="SequenceLogProbs.Backward"/>,
/// so that the whole logits never exist).
/// </summary>
/// <param name="reference">Σ log p of each row's labelled tokens under the reference model (ids, labels → [R]); null for a reference-free objective.</param>
public sealed class PreferenceStep(IAlignmentObjective objective, AlignmentOptions options, LanguageModelForward policy, Func<Tensor, Tensor, Tensor>? reference)
{
    public IAlignmentObjective Objective => objective;

    /// <summary>Forward and backward of <paramref name="batch"/>, the gradient scaled by <paramref name="scale"/>, <paramref name="afterForward"/> called once the policy's forward pass is held: for <see cref="Trainer.Objective"/>.</summary>
    public ObjectiveStep Train(TrainingBatch batch, double scale, Action? afterForward = null)
    {
        using var scope = NewDisposeScope();
        var refSums = Reference(batch);
        long half = batch.InputIds.shape[0] / 2;
        var hidden = policy.Hidden(batch.InputIds);
        afterForward?.Invoke();
        var (result, _, _) = SequenceLogProbs.Backward(hidden, policy.Head, batch.Labels, NllLabels(batch), half, (sums, counts, nll) =>
        {
            var (logps, tokens) = Inputs(batch, sums, counts, nll, refSums);
            var loss = objective.Compute(logps, options);
            return ((Loss: (double)loss.Loss.item<float>(), Tokens: tokens, loss.Metrics), loss.Loss.Times(scale));
        });
        return new ObjectiveStep(result.Loss, result.Tokens, result.Metrics);
    }

    /// <summary>The loss and metrics of a held-out batch, without autograd.</summary>
    public AlignmentLoss Evaluate(TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        var (logps, _) = LogProbs(batch);
        var loss = objective.Compute(logps, options);
        return loss with { Loss = loss.Loss.detach().MoveToOuterDisposeScope() };
    }

    /// <summary>The objective's inputs for a batch of <see cref="PreferenceBatchSource"/> (without autograd), and the completion tokens scored.</summary>
    public (PreferenceLogProbs LogProbs, long Tokens) LogProbs(TrainingBatch batch)
    {
        long half = batch.InputIds.shape[0] / 2;
        var (sums, counts, nll) = SequenceLogProbs.Compute(policy, batch.InputIds, batch.Labels, NllLabels(batch), half);
        return Inputs(batch, sums, counts, nll, Reference(batch));
    }

    Tensor? NllLabels(TrainingBatch batch) => objective.UsesChosenNll(options) ? batch.SequenceLabels : null;

    Tensor? Reference(TrainingBatch batch)
    {
        if (!objective.UsesReference) return null;
        if (reference is null) throw new InvalidOperationException($"objective {objective.Name} compares with a reference model, and none was given");
        using var _ = no_grad();
        return reference(batch.InputIds, batch.Labels);
    }

    (PreferenceLogProbs LogProbs, long Tokens) Inputs(TrainingBatch batch, Tensor sums, Tensor counts, Tensor? nll, Tensor? refSums)
    {
        long half = batch.InputIds.shape[0] / 2;
        long tokens;
        if (objective.Paired)
        {
            Tensor First(Tensor t) => t.narrow(0, 0, half);
            Tensor Second(Tensor t) => t.narrow(0, half, half);
            using (var all = counts.sum()) tokens = (long)all.item<float>();
            return (new PreferenceLogProbs(First(sums), Second(sums), First(counts), Second(counts))
            {
                ReferenceChosen = refSums is null ? null : First(refSums),
                ReferenceRejected = refSums is null ? null : Second(refSums),
                ChosenNll = nll,
            }, tokens);
        }
        // Unpaired (KTO): the first half are the completions, the second half the mismatched pairs.
        var desirable = batch.Desirable ?? throw new InvalidOperationException("an unpaired batch needs TrainingBatch.Desirable");
        var undesirable = desirable.logical_not();
        var matched = sums.narrow(0, 0, half);
        var matchedCounts = counts.narrow(0, 0, half);
        var refMatched = refSums!.narrow(0, 0, half);
        using (var scored = matchedCounts.sum()) tokens = (long)scored.item<float>();
        return (new PreferenceLogProbs(matched[desirable], matched[undesirable], matchedCounts[desirable], matchedCounts[undesirable])
        {
            ReferenceChosen = refMatched[desirable],
            ReferenceRejected = refMatched[undesirable],
            Mismatched = sums.narrow(0, half, half),
            ReferenceMismatched = refSums.narrow(0, half, half),
        }, tokens);
    }
}
