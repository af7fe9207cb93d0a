namespace QuantTune.Training.Data;

/// <summary>One TSV row: the text and the index of its label in <see cref="ClassificationOptions.LabelWords"/>.</summary>
public sealed record ClassificationRecord(string Text, int LabelIndex, int Line);
