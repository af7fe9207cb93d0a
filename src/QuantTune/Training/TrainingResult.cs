using QuantTune.Training.Memory;
using QuantTune.Training.Metrics;

namespace QuantTune.Training;

/// <summary>What a run did; <see cref="FinalEvalLoss"/> is the held-out loss at the last step when it was evaluated there.</summary>
public sealed record TrainingResult(int Steps, int ResumedFrom, IReadOnlyList<StepMetrics> History, MemoryReport Memory,
    double SecondsPerStep, long TrainableParameters, double? FinalEvalLoss, IReadOnlyList<string>? Warnings = null)
{
    /// <summary>The run had finished before: a resume that trained nothing.</summary>
    public bool WasAlreadyComplete => ResumedFrom == Steps;
}
