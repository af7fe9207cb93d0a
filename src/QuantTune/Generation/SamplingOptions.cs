namespace QuantTune.Generation;

/// <summary>
/// How the next token is chosen: greedy when <see cref="Temperature"/> is 0, otherwise sampled
/// from softmax(logits / T) restricted to the top-k tokens and then to the smallest set whose
/// probability reaches top-p.
/// </summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; } = 0.0;
    public int TopK { get; init; } = 0;
    public double TopP { get; init; } = 1.0;
    public long Seed { get; init; } = 0;
    /// <summary>Stop when one of these ids is produced (the config's EOS by default).</summary>
    public IReadOnlyCollection<int>? StopTokens { get; init; }

    public bool Greedy => Temperature <= 0;

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new Diagnostics.QuantTuneException($"max new tokens is {MaxNewTokens}; expected 0 or more");
        if (Temperature < 0) throw new Diagnostics.QuantTuneException($"temperature is {Temperature}; expected 0 (greedy) or more");
        if (TopK < 0) throw new Diagnostics.QuantTuneException($"top-k is {TopK}; expected 0 (off) or more");
        if (TopP is <= 0 or > 1) throw new Diagnostics.QuantTuneException($"top-p is {TopP}; expected a value in (0, 1]");
    }
}
