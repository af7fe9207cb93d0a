namespace QuantTune.Training.Data;

/// <summary>A row ready to score: its prompt ids (BOS included) and the index of its true label word.</summary>
public sealed record ClassificationItem(int[] PromptIds, int LabelIndex, int Line);
