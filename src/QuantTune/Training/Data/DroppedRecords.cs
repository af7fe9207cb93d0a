namespace QuantTune.Training.Data;

/// <summary>
/// Well-formed records of a data file that training leaves out, how many and why (a prompt longer than
/// the sequence length, say), so a run can say so instead of training on less than the user thinks.
/// </summary>
/// <param name="File">The path as the caller gave it.</param>
/// <param name="Count">Records dropped.</param>
/// <param name="Total">Well-formed records read (bad lines skipped with <c>skipBadLines</c> are not counted).</param>
/// <param name="Lines">1-based line where each dropped record starts.</param>
public sealed record DroppedRecords(string File, int Count, int Total, string Reason, IReadOnlyList<int> Lines, string Action = "dropped")
{
    private const int LinesShown = 5;

    /// <summary>"data.jsonl: 12 of 500 records dropped: prompt longer than FineTuneRequest.SequenceLength 256 tokens (lines 3, 9, 17, 40, 41, …)".</summary>
    public string Message =>
        $"{File}: {Count} of {Total} records {Action}: {Reason} (line{(Lines.Count == 1 ? "" : "s")} {string.Join(", ", Lines.Take(LinesShown))}{(Lines.Count > LinesShown ? ", …" : "")})";

    public override string ToString() => Message;

    /// <summary>The drop report for <paramref name="lines"/>, or null when none was dropped.</summary>
    public static DroppedRecords? Of(string file, int total, string reason, IReadOnlyList<int> lines, string action = "dropped") =>
        lines.Count == 0 ? null : new DroppedRecords(file, lines.Count, total, reason, lines, action);
}
