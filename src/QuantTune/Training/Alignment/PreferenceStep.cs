using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// One micro-batch of preference optimisation: the policy's sequence log-probabilities of the batch's rows in one
/// forward (chosen and rejected concatenated), the reference's under no_grad when the objective has one, the
/// objective's loss, and its backward scaled for gradient accumulation.
/// </summary>
/// <param name="reference">Σ log p of each row's labelled tokens under the reference model (ids, labels → [R]); null for a reference-free objective.</param>
public sealed class PreferenceStep(IAlignmentObjective objective, AlignmentOptions options, LanguageModelForward policy, Func<Tensor, Tensor, Tensor>? reference)
{
    public IAlignmentObjective Objective => objective;

    /// <summary>Forward and backward of <paramref name="batch"/>, the gradient scaled by <paramref name="scale"/>: for <see cref="Trainer.Objective"/>.</summary>
    public ObjectiveStep Train(TrainingBatch batch, double scale)
    {
        using var scope = NewDisposeScope();
        var (loss, tokens) = Loss(batch);
        loss.Loss.Times(scale).backward();
        return new ObjectiveStep(loss.Loss.item<float>(), tokens, loss.Metrics);
    }

    /// <summary>The loss and metrics of a held-out batch, without autograd.</summary>
    public AlignmentLoss Evaluate(TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (loss, _) = Loss(batch);
        return loss with { Loss = loss.Loss.detach().MoveToOuterDisposeScope() };
    }

    /// <summary>The objective's inputs for a batch of <see cref="PreferenceBatchSource"/>, and the completion tokens scored.</summary>
    public (PreferenceLogProbs LogProbs, long Tokens) LogProbs(TrainingBatch batch)
    {
        long rows = batch.InputIds.shape[0], half = rows / 2;
        bool nll = objective.UsesChosenNll(options);
        var (sums, counts, chosenNll) = SequenceLogProbs.Compute(policy, batch.InputIds, batch.Labels, nll ? batch.SequenceLabels : null, half);
        Tensor? refSums = null;
        if (objective.UsesReference)
        {
            if (reference is null) throw new InvalidOperationException($"objective {objective.Name} compares with a reference model, and none was given");
            using (no_grad()) refSums = reference(batch.InputIds, batch.Labels);
        }
        long tokens;
        using (var labelled = counts.narrow(0, 0, half).sum()) tokens = (long)labelled.item<float>();
        if (objective.Paired)
        {
            Tensor First(Tensor t) => t.narrow(0, 0, half);
            Tensor Second(Tensor t) => t.narrow(0, half, half);
            using (var second = Second(counts).sum()) tokens += (long)second.item<float>();
            return (new PreferenceLogProbs(First(sums), Second(sums), First(counts), Second(counts))
            {
                ReferenceChosen = refSums is null ? null : First(refSums),
                ReferenceRejected = refSums is null ? null : Second(refSums),
                ChosenNll = chosenNll,
            }, tokens);
        }
        // Unpaired (KTO): the first half are the completions, the second half the mismatched pairs.
        var desirable = batch.Desirable ?? throw new InvalidOperationException("an unpaired batch needs TrainingBatch.Desirable");
        var undesirable = desirable.logical_not();
        var matched = sums.narrow(0, 0, half);
        var matchedCounts = counts.narrow(0, 0, half);
        var refMatched = refSums!.narrow(0, 0, half);
        return (new PreferenceLogProbs(matched[desirable], matched[undesirable], matchedCounts[desirable], matchedCounts[undesirable])
        {
            ReferenceChosen = refMatched[desirable],
            ReferenceRejected = refMatched[undesirable],
            Mismatched = sums.narrow(0, half, half),
            ReferenceMismatched = refSums.narrow(0, half, half),
        }, tokens);
    }

    (AlignmentLoss Loss, long Tokens) Loss(TrainingBatch batch)
    {
        var (logps, tokens) = LogProbs(batch);
        return (objective.Compute(logps, options), tokens);
    }
}
