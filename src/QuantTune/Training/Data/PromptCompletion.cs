using QuantTune.Tokenization;

namespace QuantTune.Training.Data;

/// <summary>
/// Builds a <see cref="TokenizedExample"/> from a prompt and the completion the model should learn,
/// with the loss on the completion only.
/// </summary>
/// <remarks>
/// The prompt and the completion are tokenized separately and the ids concatenated. Tokenizing the joined
/// text can merge the prompt's last characters with the completion's first ones into one BPE token, and
/// then no token boundary matches the prompt's end. Separately, the prompt's ids are exactly the ids a
/// generator encodes at inference time, and the masked span is exactly the prompt. The completion is
/// encoded as if it started a text (with a Metaspace tokenizer its first word gets a leading "▁").
/// </remarks>
internal static class PromptCompletion
{
    /// <summary>
    /// Sequence = [BOS] + prompt + completion + [EOS], cut to <paramref name="maxLength"/> + 1 tokens.
    /// Inputs are the sequence without its last token; <c>Labels[i]</c> is the token at <c>i + 1</c> when that
    /// token belongs to the completion (or is the EOS), else <see cref="TokenizedExample.Ignore"/>.
    /// Returns null when the prompt leaves no completion token inside the limit.
    /// </summary>
    public static TokenizedExample? Build(HfTokenizer tokenizer, string prompt, string completion,
        bool addBos, bool addEos, int maxLength)
    {
        var prompted = new List<int>();
        if (addBos && tokenizer.BosId is int bos)
        {
            prompted.Add(bos);
        }

        prompted.AddRange(tokenizer.Encode(prompt));
        var completed = new List<int>(tokenizer.Encode(completion));
        if (addEos && tokenizer.EosId is int eos)
        {
            completed.Add(eos);
        }

        return FromIds(prompted, completed, maxLength);
    }

    /// <summary>The example for prompt ids followed by completion ids (see <see cref="Build"/>).</summary>
    public static TokenizedExample? FromIds(IReadOnlyList<int> prompt, IReadOnlyList<int> completion, int maxLength)
    {
        int promptEnd = prompt.Count; // the first token with a loss
        int length = Math.Min(promptEnd + completion.Count, maxLength + 1);
        if (length <= promptEnd || length < 2)
        {
            return null;
        }

        var inputs = new int[length - 1];
        var labels = new int[length - 1];
        for (int i = 0; i < length - 1; i++)
        {
            inputs[i] = i < promptEnd ? prompt[i] : completion[i - promptEnd];
            labels[i] = i + 1 >= promptEnd ? completion[i + 1 - promptEnd] : TokenizedExample.Ignore;
        }

        return new TokenizedExample(inputs, labels);
    }
}
