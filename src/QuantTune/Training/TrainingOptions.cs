using QuantTune.Diagnostics;

namespace QuantTune.Training;

/// <summary>Everything that decides a training run (saved with its checkpoints, so a resume continues the same run).</summary>
public sealed record TrainingOptions
{
    public int Steps { get; init; } = 100;
    public int BatchSize { get; init; } = 8;
    public int GradientAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 2e-4;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    public int WarmupSteps { get; init; } = 0;
    public double MaxGradNorm { get; init; } = 1.0;
    public double WeightDecay { get; init; } = 0.0;
    public long Seed { get; init; } = 42;
    public int EvalEvery { get; init; } = 0;
    public int CheckpointEvery { get; init; } = 0;
    public int LogEvery { get; init; } = 1;

    public void Validate()
    {
        if (Steps < 1) throw new InvalidSettingException("TrainingOptions.Steps", Steps, "expected at least 1");
        if (BatchSize < 1) throw new InvalidSettingException("TrainingOptions.BatchSize", BatchSize, "expected at least 1");
        if (GradientAccumulation < 1) throw new InvalidSettingException("TrainingOptions.GradientAccumulation", GradientAccumulation, "expected at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new InvalidSettingException("TrainingOptions.LearningRate", LearningRate, "expected a positive number");
        if (WarmupSteps < 0 || WarmupSteps > Steps) throw new InvalidSettingException("TrainingOptions.WarmupSteps", WarmupSteps, $"expected 0 to TrainingOptions.Steps ({Steps})");
        if (MaxGradNorm < 0) throw new InvalidSettingException("TrainingOptions.MaxGradNorm", MaxGradNorm, "expected 0 (off) or more");
    }
}
