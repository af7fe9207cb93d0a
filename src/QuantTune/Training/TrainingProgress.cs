namespace QuantTune.Training;

/// <summary>
/// What a running fine-tune reports: after each optimizer step, the step's figures and the
/// time still needed (<paramref name="Remaining"/>, from the steps' and evaluations' measured
/// durations; null until a step has been timed); before training, the phase it is in
/// (<paramref name="Phase"/>: loading, quantizing, tokenizing, evaluating), with Step 0.
/// </summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double TokensPerSecond, double? EvalLoss,
    TimeSpan? Remaining = null, string? Phase = null)
{
    /// <summary>The step's metrics of a <see cref="Trainer.Objective"/> (preference optimisation: TRL's rewards/margins, rewards/accuracies, ...); null for cross-entropy training.</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>A phase of the run outside the training steps.</summary>
    public static TrainingProgress Starting(string phase, int totalSteps) => new(0, totalSteps, double.NaN, double.NaN, 0, null, null, phase);
}
