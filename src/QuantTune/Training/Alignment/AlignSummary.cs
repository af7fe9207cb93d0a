using System.Text.Json.Serialization;
using QuantTune.Training.Memory;

namespace QuantTune.Training.Alignment;

/// <summary>
/// What a preference-optimisation run measured: the held-out loss and metrics (TRL's names) before and after
/// training, the cost, and where the result is. <paramref name="Reference"/> says what the reference model was.
/// </summary>
public sealed record AlignSummary(
    string Objective, string Method, double Beta, string Reference, long TrainableParameters,
    double EvalLossBefore, double EvalLossAfter, IReadOnlyDictionary<string, double> EvalMetricsBefore, IReadOnlyDictionary<string, double> EvalMetricsAfter,
    int Steps, int ResumedFrom, double SecondsPerStep, MemoryReport Memory, string OutputDirectory, string ResultDirectory,
    int TrainExamples, int EvalExamples, IReadOnlyList<string> DataProblems, IReadOnlyList<int> DroppedLines,
    [property: JsonPropertyName("dtype")] string DType, string Device, IReadOnlyList<string> Warnings, bool WasAlreadyComplete);
