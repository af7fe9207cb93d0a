namespace QuantTune.Training.Data;

/// <summary>
/// How a classification TSV becomes prompts and label words. The defaults read GLUE SST-2
/// (<c>sentence&lt;TAB&gt;label</c>, labels 0/1) as a sentiment prompt.
/// </summary>
public sealed record ClassificationOptions
{
    public string TextColumn { get; init; } = "sentence";

    public string LabelColumn { get; init; } = "label";

    /// <summary>The prompt; <c>{text}</c> stands for the text column (trimmed: GLUE sentences end with a space).</summary>
    public string Template { get; init; } = "Review: {text}\nSentiment:";

    /// <summary>
    /// Label value in the file → the word the model should say. The leading space makes each word its own
    /// token(s) after "Sentiment:". Order matters: predictions are indices into this list.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> LabelWords { get; init; } =
    [
        new("0", " negative"),
        new("1", " positive"),
    ];

    /// <summary>Longest prompt in tokens (the label word comes on top); longer texts lose their end.</summary>
    public int MaxPromptLength { get; init; } = 256;

    /// <summary>Start with the tokenizer's BOS; null means "if the tokenizer has one".</summary>
    public bool? AddBos { get; init; }
}
