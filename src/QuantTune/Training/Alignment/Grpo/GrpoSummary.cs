using System.Text.Json.Serialization;
using QuantTune.Training.Memory;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// What a GRPO run measured: the mean reward of the first and the last steps' completions (and the last steps'
/// KL and clip ratio, TRL's names, where logged), the cost, and where the result is. <paramref name="Reference"/> says
/// what the reference model was (none when β is 0).
/// </summary>
public sealed record GrpoSummary(
    string Method, double Beta, int NumGenerations, IReadOnlyList<string> Rewards, string Reference, long TrainableParameters,
    double? RewardFirst, double? RewardLast, IReadOnlyDictionary<string, double> LastMetrics,
    int Steps, int ResumedFrom, double SecondsPerStep, MemoryReport Memory, string OutputDirectory, string ResultDirectory,
    int Prompts, IReadOnlyList<string> DataProblems,
    [property: JsonPropertyName("dtype")] string DType, string Device, IReadOnlyList<string> Warnings, bool WasAlreadyComplete);
