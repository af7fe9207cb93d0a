using QuantTune.Runtime;
namespace QuantTune.Training.Alignment;

/// <summary>
/// DPO (Rafailov et al. 2023), TRL's <c>loss_type="sigmoid"</c>: with Δ = (log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))
/// over the completions' summed log-probabilities, the loss is the mean over pairs of −log σ(β·Δ), or with
/// label smoothing ε (cDPO) −(1−ε)·log σ(β·Δ) − ε·log σ(−β·Δ). The implicit rewards are β·(log π − log π_ref).
/// </summary>
public sealed class DpoObjective : IAlignmentObjective
{
    public string Name => "dpo";
    public bool UsesReference => true;
    public bool Paired => true;
    public bool UsesChosenNll(AlignmentOptions options) => false;

    public AlignmentLoss Compute(PreferenceLogProbs x, AlignmentOptions o)
    {
        var (chosenRatio, rejectedRatio) = x.LogRatios(Name);
        var loss = PreferenceMath.SigmoidLoss(chosenRatio.Plus(rejectedRatio, -1.0), o.Beta, o.LabelSmoothing).mean();
        var metrics = RewardMetrics.Paired(chosenRatio.Times(o.Beta), rejectedRatio.Times(o.Beta), x.Chosen, x.Rejected);
        return new AlignmentLoss(loss, metrics);
    }
}
