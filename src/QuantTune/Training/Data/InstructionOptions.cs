namespace QuantTune.Training.Data;

/// <summary>How instruction records become training examples.</summary>
public sealed record InstructionOptions
{
    public PromptTemplate Template { get; init; } = PromptTemplate.Alpaca;

    /// <summary>
    /// Most input tokens per example (the example's <see cref="TokenizedExample.Length"/>). Longer
    /// examples lose the end of their output (and the EOS); the prompt is never cut.
    /// </summary>
    public int MaxLength { get; init; } = 512;

    /// <summary>Start with the tokenizer's BOS; null means "if the tokenizer has one".</summary>
    public bool? AddBos { get; init; }

    /// <summary>End the output with EOS, so the model learns to stop.</summary>
    public bool AddEos { get; init; } = true;
}
