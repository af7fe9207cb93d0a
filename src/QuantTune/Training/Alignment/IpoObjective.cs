using QuantTune.Runtime;
namespace QuantTune.Training.Alignment;

/// <summary>
/// IPO (Azar et al. 2023, eq. 17), as TRL computes it: the log-ratios log π − log π_ref are divided by each
/// completion's number of tokens (TRL's length normalisation, confirmed with the IPO authors), and the loss is the
/// mean over pairs of (Δ_per_token − 1/(2β))², β being the paper's τ. Rewards are β times the summed log-ratios, as TRL logs them.
/// </summary>
public sealed class IpoObjective : IAlignmentObjective
{
    public string Name => "ipo";
    public bool UsesReference => true;
    public bool Paired => true;
    public bool UsesChosenNll(AlignmentOptions options) => false;

    public AlignmentLoss Compute(PreferenceLogProbs x, AlignmentOptions o)
    {
        var (chosenRatio, rejectedRatio) = x.LogRatios(Name);
        var delta = PreferenceMath.PerToken(chosenRatio, x.ChosenTokens).Plus(PreferenceMath.PerToken(rejectedRatio, x.RejectedTokens), -1.0);
        var centered = delta.Minus(1 / (2 * o.Beta));
        var loss = centered.mul(centered).mean();
        return new AlignmentLoss(loss, RewardMetrics.Paired(chosenRatio.Times(o.Beta), rejectedRatio.Times(o.Beta), x.Chosen, x.Rejected));
    }
}
