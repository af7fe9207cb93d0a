using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// The metrics TRL logs for a preference batch: rewards/chosen, rewards/rejected (means of the implicit rewards),
/// rewards/accuracies (the share of pairs whose chosen reward is higher), rewards/margins (mean chosen − rejected
/// reward), logps/chosen, logps/rejected (means of the policy log-probabilities the objective uses).
/// </summary>
public static class RewardMetrics
{
    public const string Chosen = "rewards/chosen";
    public const string Rejected = "rewards/rejected";
    public const string Accuracies = "rewards/accuracies";
    public const string Margins = "rewards/margins";
    public const string LogpsChosen = "logps/chosen";
    public const string LogpsRejected = "logps/rejected";

    /// <summary>Metrics of paired rewards [B] and log-probabilities [B].</summary>
    public static Dictionary<string, double> Paired(Tensor chosenRewards, Tensor rejectedRewards, Tensor chosenLogps, Tensor rejectedLogps)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return new Dictionary<string, double>
        {
            [Chosen] = Mean(chosenRewards),
            [Rejected] = Mean(rejectedRewards),
            [Accuracies] = Mean(chosenRewards.detach().gt(rejectedRewards.detach()).to_type(ScalarType.Float64)),
            [Margins] = Mean(chosenRewards.detach().Plus(rejectedRewards.detach(), -1.0)),
            [LogpsChosen] = Mean(chosenLogps),
            [LogpsRejected] = Mean(rejectedLogps),
        };
    }

    /// <summary>The mean of a tensor as a double (NaN when it is empty).</summary>
    internal static double Mean(Tensor t) => t.numel() == 0 ? double.NaN : t.detach().to_type(ScalarType.Float64).mean().item<double>();
}
