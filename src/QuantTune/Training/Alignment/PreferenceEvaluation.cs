using static TorchSharp.torch;

namespace QuantTune.Training.Alignment;

/// <summary>
/// An objective on held-out preference data: the mean loss and the mean of each metric over its batches, weighted
/// by the rows of each batch (rewards/accuracies is then the share of held-out pairs whose chosen reward is higher).
/// </summary>
public sealed record PreferenceEvaluation(double Loss, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>rewards/accuracies, when the objective logs it.</summary>
    public double? Accuracy => Metrics.TryGetValue(RewardMetrics.Accuracies, out var a) ? a : null;

    /// <summary>rewards/margins, when the batch had both kinds.</summary>
    public double? Margin => Metrics.TryGetValue(RewardMetrics.Margins, out var m) ? m : null;

    public static PreferenceEvaluation Run(PreferenceStep step, IBatchSource batches, Device? device)
    {
        double loss = 0, weight = 0;
        var sums = new Dictionary<string, (double Sum, double Weight)>();
        foreach (var b in batches.Epoch(0))
        {
            using var batch = device is null ? b : b.To(device);
            double rows = batch.InputIds.shape[0] / 2.0;
            var result = step.Evaluate(batch);
            using (result.Loss) loss += result.Loss.item<float>() * rows;
            weight += rows;
            foreach (var (name, value) in result.Metrics)
            {
                if (double.IsNaN(value)) continue;
                var (s, w) = sums.GetValueOrDefault(name);
                sums[name] = (s + value * rows, w + rows);
            }
        }
        return new PreferenceEvaluation(weight == 0 ? double.NaN : loss / weight, sums.ToDictionary(p => p.Key, p => p.Value.Sum / p.Value.Weight));
    }
}
