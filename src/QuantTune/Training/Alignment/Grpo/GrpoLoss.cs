using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// GRPO's loss as TRL's <c>GRPOTrainer._compute_loss</c> computes it (trl/trainer/grpo_trainer.py at commit
/// d2b69d769dab6f77acbfd33252bcd7d22765571b; the defaults of grpo_config.py at 006d32c9bf5da698815726ebd0de78b404e8163d),
/// token-level importance sampling: with r = exp(log π − log π_old) per completion token and the completion's advantage A,
/// the token's loss is −min(r·A, clamp(r, 1 − ε, 1 + ε_high)·A), plus β·(exp(log π_ref − log π) − (log π_ref − log π) − 1)
/// (the k3 estimator of KL(π‖π_ref)) when β is above 0; the tokens' losses are averaged as <see cref="GrpoLossType"/> says.
/// Metrics under TRL's names: kl (β above 0), clip_ratio/low_mean, clip_ratio/high_mean, clip_ratio/region_mean.
/// </summary>
public static class GrpoLoss
{
    public const string Kl = "kl";
    public const string ClipLow = "clip_ratio/low_mean";
    public const string ClipHigh = "clip_ratio/high_mean";
    public const string ClipRegion = "clip_ratio/region_mean";

    /// <param name="logps">Policy log-probabilities of the completion tokens [N, T] (with autograd); anything where <paramref name="mask"/> is 0.</param>
    /// <param name="oldLogps">The sampling policy's [N, T]; null: <paramref name="logps"/> detached (one step per generation batch).</param>
    /// <param name="referenceLogps">The reference model's [N, T]; needed when <see cref="GrpoOptions.Beta"/> is above 0.</param>
    /// <param name="advantages">[N], one per completion.</param>
    /// <param name="mask">[N, T] float: 1 on completion tokens, 0 on padding.</param>
    public static AlignmentLoss Compute(Tensor logps, Tensor? oldLogps, Tensor? referenceLogps, Tensor advantages, Tensor mask, GrpoOptions o)
    {
        using var scope = NewDisposeScope();
        var old = oldLogps ?? logps.detach();
        var ratio = logps.Plus(old, -1.0).exp();
        var clipped = ratio.Clamped(1 - o.Epsilon, 1 + o.UpperEpsilon);
        var a = advantages.unsqueeze(1);
        var perToken = minimum(ratio * a, clipped * a).neg();
        Tensor? kl = null;
        if (o.Beta > 0)
        {
            var delta = (referenceLogps ?? throw new ArgumentException("a KL term (β above 0) needs the reference log-probabilities", nameof(referenceLogps))).Plus(logps, -1.0);
            kl = delta.exp().Plus(delta, -1.0).Minus(1.0);
            perToken = perToken.Plus(kl, o.Beta);
        }
        var masked = perToken * mask;
        var tokens = mask.sum().ClampedMin(1.0);
        var loss = o.LossType switch
        {
            GrpoLossType.Grpo => (masked.sum(1) / mask.sum(1).ClampedMin(1.0)).mean(),
            GrpoLossType.DrGrpo => masked.sum().DividedBy((double)logps.shape[0] * o.MaxCompletionLength),
            _ => masked.sum() / tokens,
        };
        double Mean(Tensor x)
        {
            using var _ = no_grad();
            return (x.detach().to_type(ScalarType.Float64) * mask.to_type(ScalarType.Float64)).sum().div(tokens.to_type(ScalarType.Float64)).item<double>();
        }
        var low = ratio.detach().AtLeast(1 - o.Epsilon).logical_not().logical_and(a.AtLeast(0.0).logical_not());
        var high = ratio.detach().GreaterThan(1 + o.UpperEpsilon).logical_and(a.GreaterThan(0.0));
        var metrics = new Dictionary<string, double>
        {
            [ClipLow] = Mean(low),
            [ClipHigh] = Mean(high),
            [ClipRegion] = Mean(low.logical_or(high)),
        };
        if (kl is not null) metrics[Kl] = Mean(kl);
        return new AlignmentLoss(loss.MoveToOuterDisposeScope(), metrics);
    }

    /// <summary>
    /// TRL's advantages of a generation batch: the rewards of each prompt's G consecutive completions less their group
    /// mean, divided (<see cref="RewardScaling.Group"/>) by the group's standard deviation (Bessel-corrected) + 1e-4,
    /// or (<see cref="RewardScaling.Batch"/>) by the whole batch's. Also the group means and standard deviations, for the metrics.
    /// </summary>
    public static (double[] Advantages, double[] GroupMeans, double[] GroupStds) Advantages(IReadOnlyList<double> rewards, int groupSize, RewardScaling scale)
    {
        if (groupSize < 2 || rewards.Count % groupSize != 0) throw new ArgumentException($"{rewards.Count} rewards do not make groups of {groupSize}", nameof(rewards));
        int groups = rewards.Count / groupSize;
        var means = new double[groups];
        var stds = new double[groups];
        for (int g = 0; g < groups; g++)
        {
            var group = rewards.Skip(g * groupSize).Take(groupSize).ToArray();
            means[g] = group.Average();
            stds[g] = Std(group);
        }
        double batchStd = Std([.. rewards]);
        var advantages = new double[rewards.Count];
        for (int i = 0; i < rewards.Count; i++)
        {
            int g = i / groupSize;
            double centred = rewards[i] - means[g];
            advantages[i] = scale switch
            {
                RewardScaling.Group => centred / (stds[g] + 1e-4),
                RewardScaling.Batch => centred / (batchStd + 1e-4),
                _ => centred,
            };
        }
        return (advantages, means, stds);
    }

    /// <summary>The sample standard deviation (n − 1), as torch.std.</summary>
    static double Std(double[] x)
    {
        double mean = x.Average();
        return Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1));
    }
}
