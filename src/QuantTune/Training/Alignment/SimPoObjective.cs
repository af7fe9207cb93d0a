using QuantTune.Runtime;
namespace QuantTune.Training.Alignment;

/// <summary>
/// SimPO (Meng et al. 2024), TRL's CPOTrainer with <c>loss_type="simpo"</c>: no reference model; with the per-token
/// mean log-probabilities a_c, a_r, the loss is the mean of −log σ(β·(a_c − a_r) − γ) (with label smoothing ε as
/// in <see cref="PreferenceMath.SigmoidLoss"/>), plus <see cref="AlignmentOptions.CpoAlpha"/> times the chosen NLL. Rewards are β·a.
/// </summary>
public sealed class SimPoObjective : IAlignmentObjective
{
    public string Name => "simpo";
    public bool UsesReference => false;
    public bool Paired => true;
    public bool UsesChosenNll(AlignmentOptions options) => options.CpoAlpha > 0;

    public AlignmentLoss Compute(PreferenceLogProbs x, AlignmentOptions o)
    {
        var chosen = PreferenceMath.PerToken(x.Chosen, x.ChosenTokens);
        var rejected = PreferenceMath.PerToken(x.Rejected, x.RejectedTokens);
        // TRL: logits = (a_c − a_r) − γ/β, then the sigmoid loss of β·logits.
        var loss = PreferenceMath.SigmoidLoss(chosen.Plus(rejected, -1.0).Minus(o.SimPoGamma / o.Beta), o.Beta, o.LabelSmoothing).mean();
        var metrics = RewardMetrics.Paired(chosen.Times(o.Beta), rejected.Times(o.Beta), chosen, rejected);
        if (UsesChosenNll(o))
        {
            var nll = x.Need(x.ChosenNll, nameof(x.ChosenNll), Name);
            loss = loss.Plus(nll, o.CpoAlpha);
            metrics["nll_loss"] = RewardMetrics.Mean(nll);
        }
        return new AlignmentLoss(loss, metrics);
    }
}
