using QuantTune.Diagnostics;

namespace QuantTune.Training.Data;

/// <summary>
/// How preference examples are cut, as TRL's trainers cut them: the prompt to its last
/// <see cref="MaxPromptLength"/> tokens, each completion to its first <see cref="MaxCompletionLength"/>, then
/// prompt + completion to <see cref="MaxLength"/> by cutting the completion's end (TRL's <c>keep_start</c>);
/// an example whose prompt alone fills <see cref="MaxLength"/> is left out, as TRL leaves it out.
/// </summary>
public sealed record PreferenceOptions
{
    /// <summary>TRL's max_length: 1024.</summary>
    public int MaxLength { get; init; } = 1024;

    /// <summary>TRL's max_prompt_length (512 in the DPO/ORPO/KTO configs that had it); null: not cut on its own.</summary>
    public int? MaxPromptLength { get; init; } = 512;

    /// <summary>TRL's max_completion_length; null (its default): not cut on its own.</summary>
    public int? MaxCompletionLength { get; init; }

    public void Validate()
    {
        if (MaxLength < 2) throw new InvalidSettingException("PreferenceOptions.MaxLength", MaxLength, "expected at least 2 tokens");
        if (MaxPromptLength is int p && p < 1) throw new InvalidSettingException("PreferenceOptions.MaxPromptLength", p, "expected a positive number of tokens");
        if (MaxCompletionLength is int c && c < 1) throw new InvalidSettingException("PreferenceOptions.MaxCompletionLength", c, "expected a positive number of tokens");
    }

    /// <summary>The prompt and completion cut to the limits; null when no completion token is left.</summary>
    public (int[] Prompt, int[] Completion)? Cut(IReadOnlyList<int> prompt, IReadOnlyList<int> completion)
    {
        int[] p = MaxPromptLength is int mp && prompt.Count > mp ? [.. prompt.Skip(prompt.Count - mp)] : [.. prompt];
        int[] c = MaxCompletionLength is int mc && completion.Count > mc ? [.. completion.Take(mc)] : [.. completion];
        if (p.Length >= MaxLength) return null;
        if (p.Length + c.Length > MaxLength) c = c[..(MaxLength - p.Length)];
        return c.Length == 0 ? null : (p, c);
    }
}
