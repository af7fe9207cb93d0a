namespace QuantTune.Training.Data;

/// <summary>How conversations become training examples.</summary>
public sealed record ConversationOptions
{
    /// <summary>Tokens per example (the model sees at most this many inputs).</summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>True (the default, TRL's assistant_only_loss): the loss is on assistant turns only; false: on the whole conversation.</summary>
    public bool AssistantOnlyLoss { get; init; } = true;

    /// <summary>A conversation longer than <see cref="MaxLength"/>: cut to it (true) or left out (false, the default); either is reported.</summary>
    public bool Truncate { get; init; }

    /// <summary>Concatenate whole conversations into examples of up to <see cref="MaxLength"/> tokens, instead of one per example.</summary>
    public bool Pack { get; init; }
}
