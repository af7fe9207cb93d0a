namespace QuantTune.Training.Data;

/// <summary>
/// One training example for a causal LM: input ids and, position by position, the id the model
/// should predict there (the next token), or <see cref="Ignore"/> where no loss is taken
/// (prompt tokens of an instruction, padding).
/// </summary>
public sealed record TokenizedExample(int[] InputIds, int[] Labels)
{
    /// <summary>The label that cross-entropy ignores (PyTorch's ignore_index).</summary>
    public const int Ignore = -100;

    public int Length => InputIds.Length;
}
