namespace QuantTune.Peft.PromptTuning;

/// <summary>How the virtual tokens start, named as PEFT's <c>PromptTuningInit</c>.</summary>
public enum PromptTuningInit
{
    /// <summary>PEFT's RANDOM: N(0, 1), torch.nn.Embedding's default init (far from the scale of real embeddings).</summary>
    Random,
    /// <summary>PEFT's SAMPLE_VOCAB: rows of the embedding table at uniformly drawn token ids.</summary>
    SampleVocab,
    /// <summary>PEFT's TEXT: the embeddings of a tokenized text, repeated or truncated to the prompt length.</summary>
    Text,
}

/// <summary>
/// Prompt tuning (Lester et al. 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning")
/// as PEFT's <c>PromptTuningConfig</c>: learned virtual token embeddings prepended to the input.
/// </summary>
public sealed record PromptTuningConfig
{
    public int NumVirtualTokens { get; init; } = 20;

    /// <summary>
    /// Sampling from the vocabulary by default: it starts the prompt at the scale of real token
    /// embeddings, which Lester et al. found trains better than a random init.
    /// </summary>
    public PromptTuningInit Init { get; init; } = PromptTuningInit.SampleVocab;

    /// <summary>The text for <see cref="PromptTuningInit.Text"/>.</summary>
    public string? InitText { get; init; }

    public string? TokenizerNameOrPath { get; init; }
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>PEFT's spelling of an init.</summary>
    public static string InitName(PromptTuningInit init) => init switch
    {
        PromptTuningInit.Random => "RANDOM",
        PromptTuningInit.SampleVocab => "SAMPLE_VOCAB",
        PromptTuningInit.Text => "TEXT",
        _ => throw new ArgumentOutOfRangeException(nameof(init)),
    };

    public static PromptTuningInit? ParseInit(string? name) => name switch
    {
        "RANDOM" => PromptTuningInit.Random,
        "SAMPLE_VOCAB" => PromptTuningInit.SampleVocab,
        "TEXT" => PromptTuningInit.Text,
        _ => null,
    };
}
