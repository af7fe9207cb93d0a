using QuantTune.Diagnostics;

namespace QuantTune.Training.Data;

/// <summary>
/// The first bad record of a data file when bad records are not skipped. Carries the
/// <see cref="DataProblem"/> so a caller can handle it like the skipped ones.
/// </summary>
public sealed class DataRecordException : InvalidFormatException
{
    public DataRecordException(DataProblem problem)
        : base(problem.File, null, $"line {problem.Line}: {problem.Message}")
    {
        Problem = problem;
    }

    public DataProblem Problem { get; }
}
