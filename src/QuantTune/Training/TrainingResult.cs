using QuantTune.Training.Memory;
using QuantTune.Training.Metrics;

namespace QuantTune.Training;

public sealed record TrainingResult(int Steps, int ResumedFrom, IReadOnlyList<StepMetrics> History, MemoryReport Memory,
    double SecondsPerStep, long TrainableParameters, double? FinalEvalLoss);
