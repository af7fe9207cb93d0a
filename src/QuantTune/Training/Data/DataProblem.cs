namespace QuantTune.Training.Data;

/// <summary>
/// One bad record in a data file: where it is and what is wrong with it. Loaders either stop at the
/// first one (a <see cref="DataRecordException"/>) or, with <c>skipBadLines</c>, skip the record and
/// return the problem so the CLI can print every bad line at once instead of one per run.
/// </summary>
/// <param name="File">The path as the caller gave it.</param>
/// <param name="Line">1-based line where the record starts (for a JSON array, where the element starts).</param>
/// <param name="Message">What is wrong and what was expected; for a JSON array element it names the element index.</param>
public sealed record DataProblem(string File, int Line, string Message)
{
    public override string ToString() => $"{File}: line {Line}: {Message}";
}
