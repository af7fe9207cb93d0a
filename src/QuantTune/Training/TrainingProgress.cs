namespace QuantTune.Training;

/// <summary>What a running training reports after each optimizer step.</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double TokensPerSecond, double? EvalLoss);
