using QuantTune.Runtime;
namespace QuantTune.Training.Alignment;

/// <summary>
/// ORPO (Hong et al. 2024), as TRL's ORPOTrainer: no reference model. With the per-token mean log-probabilities
/// a_c, a_r of the chosen and rejected completions, log odds = (a_c − a_r) − (log(1 − e^{a_c}) − log(1 − e^{a_r})),
/// and the loss is NLL(chosen) − β·mean(log σ(log odds)), β being the paper's λ. TRL's NLL is the mean cross-entropy
/// over the chosen sequences' tokens, prompt included (<see cref="PreferenceLogProbs.ChosenNll"/>). Rewards are β·a.
/// Besides TRL's reward metrics it logs nll_loss, log_odds_ratio (mean log σ(log odds)) and log_odds_chosen (mean log odds).
/// </summary>
public sealed class OrpoObjective : IAlignmentObjective
{
    public string Name => "orpo";
    public bool UsesReference => false;
    public bool Paired => true;
    public bool UsesChosenNll(AlignmentOptions options) => true;

    public AlignmentLoss Compute(PreferenceLogProbs x, AlignmentOptions o)
    {
        var nll = x.Need(x.ChosenNll, nameof(x.ChosenNll), Name);
        var chosen = PreferenceMath.PerToken(x.Chosen, x.ChosenTokens);
        var rejected = PreferenceMath.PerToken(x.Rejected, x.RejectedTokens);
        var logOdds = chosen.Plus(rejected, -1.0).Plus(PreferenceMath.Log1mExp(chosen).Plus(PreferenceMath.Log1mExp(rejected), -1.0), -1.0);
        var ratio = TorchSharp.torch.nn.functional.logsigmoid(logOdds);
        var loss = nll.Plus(ratio.mean(), -o.Beta);
        var metrics = RewardMetrics.Paired(chosen.Times(o.Beta), rejected.Times(o.Beta), chosen, rejected);
        metrics["nll_loss"] = RewardMetrics.Mean(nll);
        metrics["log_odds_ratio"] = RewardMetrics.Mean(ratio);
        metrics["log_odds_chosen"] = RewardMetrics.Mean(logOdds);
        return new AlignmentLoss(loss, metrics);
    }
}
