namespace QuantTune.Training.Data;

/// <summary>A tokenized preference pair: the prompt's ids (no loss) and the two completions' ids, from the record at <paramref name="Line"/>.</summary>
public sealed record PreferencePair(int[] Prompt, int[] Chosen, int[] Rejected, int Line);

/// <summary>A tokenized unpaired completion (KTO): the prompt's ids, the completion's ids and whether it is desirable.</summary>
public sealed record UnpairedCompletion(int[] Prompt, int[] Completion, bool Desirable, int Line);
