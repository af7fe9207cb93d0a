using System.Text.Json.Serialization;
using QuantTune.Training.Data;
using QuantTune.Training.Memory;

namespace QuantTune.Training.FineTuning;

/// <summary>What a fine-tuning run measured: quality before and after, cost, and where the result is; <paramref name="DType"/> is the base's (fp32 or bf16), <paramref name="Device"/> where it ran; <paramref name="WasAlreadyComplete"/>: a resume of a finished run, which trained nothing and saved the result from its final checkpoint; <paramref name="DroppedRecords"/>: well-formed records left out of the data, per file, with the reason; <paramref name="Epochs"/>: the passes the steps were computed from (null: steps given); <paramref name="ChatTemplate"/>: for chat data, where the template came from.</summary>
public sealed record FineTuneSummary(
    string Method, string Optimizer, string? OptimizerNote, long TrainableParameters, long TotalParameters,
    double EvalPerplexityBefore, double EvalPerplexityAfter, int Steps, int ResumedFrom, double SecondsPerStep,
    MemoryReport Memory, string OutputDirectory, string ResultDirectory, int TrainExamples, int EvalExamples, IReadOnlyList<string> DataProblems,
    [property: JsonPropertyName("dtype")] string DType, string Device,
    IReadOnlyList<string>? Warnings = null, bool WasAlreadyComplete = false, IReadOnlyList<DroppedRecords>? DroppedRecords = null, int? Epochs = null, string? ChatTemplate = null);
