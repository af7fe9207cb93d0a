namespace QuantTune.Training.Data;

/// <summary>
/// Where a loader sends bad records: thrown at once by default, collected with <c>skipBadLines</c>.
/// One place for the policy so every format behaves the same.
/// </summary>
internal sealed class ProblemLog(string file, bool skipBadLines)
{
    private readonly List<DataProblem> _problems = [];

    public string File { get; } = file;

    public IReadOnlyList<DataProblem> Problems => _problems;

    /// <exception cref="DataRecordException">Bad records are not being skipped.</exception>
    public void Report(int line, string message)
    {
        var problem = new DataProblem(File, line, message);
        if (!skipBadLines)
        {
            throw new DataRecordException(problem);
        }

        _problems.Add(problem);
    }
}
