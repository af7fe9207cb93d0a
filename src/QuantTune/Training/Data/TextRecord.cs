namespace QuantTune.Training.Data;

/// <summary>One <c>{"text": ...}</c> record as read from the file.</summary>
/// <param name="Line">1-based line where the record starts.</param>
public sealed record TextRecord(string Text, int Line);
