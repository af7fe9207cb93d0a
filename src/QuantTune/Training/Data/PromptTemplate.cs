using System.Text.RegularExpressions;

namespace QuantTune.Training.Data;

/// <summary>
/// Turns an instruction record into the prompt the model reads before its response. Placeholders are
/// <c>{instruction}</c> and <c>{input}</c>; the record's input decides which of the two templates applies,
/// so a record without input does not show an empty "### Input:" section.
/// </summary>
public sealed partial record PromptTemplate(string WithInput, string WithoutInput)
{
    /// <summary>The Stanford Alpaca templates, as in its train.py.</summary>
    public static PromptTemplate Alpaca { get; } = new(
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        + "Write a response that appropriately completes the request.\n\n"
        + "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
        + "### Instruction:\n{instruction}\n\n### Response:\n");

    /// <summary>The prompt for a record; an empty or missing input selects <see cref="WithoutInput"/>.</summary>
    /// <remarks>One pass over the template, so text in the record that looks like a placeholder stays as written.</remarks>
    public string Format(string instruction, string? input)
    {
        string template = string.IsNullOrEmpty(input) ? WithoutInput : WithInput;
        return Placeholder().Replace(template, m => m.Groups[1].Value == "instruction" ? instruction : input ?? "");
    }

    [GeneratedRegex(@"\{(instruction|input)\}")]
    private static partial Regex Placeholder();
}
