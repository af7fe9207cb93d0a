using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// KTO (Ethayarajh et al. 2024, eq. 7), as TRL's KTOTrainer (<c>loss_type="kto"</c>) computes it on unpaired
/// completions. The reference point z₀ is TRL's batch estimate of KL(π‖π_ref): the mean over the batch of
/// log π(y'|x) − log π_ref(y'|x) on mismatched pairs (each completion put after another example's prompt: TRL
/// cycles the completions by one within the batch), clamped at 0 and detached, so no gradient flows through it.
/// A desirable completion's loss is 1 − σ(β·(r − z₀)), an undesirable one's 1 − σ(β·(z₀ − r)), with r = log π − log π_ref;
/// they are weighted by <see cref="AlignmentOptions.DesirableWeight"/> and <see cref="AlignmentOptions.UndesirableWeight"/>
/// and averaged over the batch. Rewards are β·r; TRL logs no reward accuracy for KTO, and the margin only when the
/// batch has both kinds. The estimate is logged as kl.
/// </summary>
public sealed class KtoObjective : IAlignmentObjective
{
    public string Name => "kto";
    public bool UsesReference => true;
    public bool Paired => false;
    public bool UsesChosenNll(AlignmentOptions options) => false;

    public AlignmentLoss Compute(PreferenceLogProbs x, AlignmentOptions o)
    {
        var mismatched = x.Need(x.Mismatched, nameof(x.Mismatched), Name);
        var referenceMismatched = x.Need(x.ReferenceMismatched, nameof(x.ReferenceMismatched), Name);
        var kl = mismatched.detach().Plus(referenceMismatched, -1.0).mean().ClampedMin(0.0);
        var (chosenRatio, rejectedRatio) = x.LogRatios(Name);
        var chosenLosses = chosenRatio.Plus(kl, -1.0).Times(o.Beta).sigmoid().SubtractedFrom(1.0);
        var rejectedLosses = kl.Plus(rejectedRatio, -1.0).Times(o.Beta).sigmoid().SubtractedFrom(1.0);
        var loss = cat([chosenLosses.Times(o.DesirableWeight), rejectedLosses.Times(o.UndesirableWeight)], 0).mean();
        var metrics = new Dictionary<string, double> { ["kl"] = RewardMetrics.Mean(kl) };
        using (no_grad())
        {
            if (x.Chosen.numel() > 0)
            {
                metrics[RewardMetrics.Chosen] = RewardMetrics.Mean(chosenRatio.Times(o.Beta));
                metrics[RewardMetrics.LogpsChosen] = RewardMetrics.Mean(x.Chosen);
            }
            if (x.Rejected.numel() > 0)
            {
                metrics[RewardMetrics.Rejected] = RewardMetrics.Mean(rejectedRatio.Times(o.Beta));
                metrics[RewardMetrics.LogpsRejected] = RewardMetrics.Mean(x.Rejected);
            }
            if (x.Chosen.numel() > 0 && x.Rejected.numel() > 0)
                metrics[RewardMetrics.Margins] = metrics[RewardMetrics.Chosen] - metrics[RewardMetrics.Rejected];
        }
        return new AlignmentLoss(loss, metrics);
    }
}
