using System.CommandLine;

namespace QuantTune.Cli;

/// <summary>
/// The ranges of the numeric and path options, in one table by option name, applied to every
/// command: a value outside its range is a usage error that names the option as the user gave
/// it, before any file is read or any model loaded.
/// </summary>
public static class OptionRules
{
    enum Rule { Positive, NonNegative, PositiveFinite, NonNegativeFinite, Probability, Fraction, NonEmpty }

    static readonly Dictionary<string, Rule> Rules = new()
    {
        ["--steps"] = Rule.Positive, ["--epochs"] = Rule.Positive, ["--batch"] = Rule.Positive, ["--accumulate"] = Rule.Positive, ["--seq"] = Rule.Positive,
        ["--rank"] = Rule.Positive, ["--bottleneck"] = Rule.Positive, ["--qst-bottleneck"] = Rule.Positive, ["--reduction"] = Rule.Positive,
        ["--virtual-tokens"] = Rule.Positive, ["--max-new-tokens"] = Rule.Positive, ["--window"] = Rule.Positive, ["--bits"] = Rule.Positive,
        ["--checkpoint-every"] = Rule.NonNegative, ["--eval-every"] = Rule.NonNegative, ["--warmup"] = Rule.NonNegative, ["--threads"] = Rule.NonNegative,
        ["--shots"] = Rule.NonNegative, ["--limit"] = Rule.NonNegative, ["--max-tokens"] = Rule.NonNegative, ["--top-k"] = Rule.NonNegative,
        ["--stride"] = Rule.NonNegative,
        ["--max-length"] = Rule.Positive, ["--max-prompt-length"] = Rule.Positive, ["--max-completion-length"] = Rule.Positive,
        ["--beta"] = Rule.NonNegativeFinite, ["--num-generations"] = Rule.Positive, ["--epsilon"] = Rule.NonNegativeFinite, ["--desirable-weight"] = Rule.PositiveFinite, ["--undesirable-weight"] = Rule.PositiveFinite, ["--cpo-alpha"] = Rule.NonNegativeFinite,
        ["--lr"] = Rule.PositiveFinite, ["--alpha"] = Rule.PositiveFinite, ["--budget"] = Rule.PositiveFinite,
        ["--temperature"] = Rule.NonNegativeFinite, ["--max-grad-norm"] = Rule.NonNegativeFinite, ["--weight-decay"] = Rule.NonNegativeFinite,
        ["--cuda-context"] = Rule.NonNegativeFinite,
        ["--top-p"] = Rule.Probability, ["--dropout"] = Rule.Fraction,
        ["--out"] = Rule.NonEmpty, ["--model"] = Rule.NonEmpty, ["--data"] = Rule.NonEmpty,
    };

    /// <summary>Adds the range check of each option that has one, in <paramref name="command"/> and its subcommands.</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options)
            if (Rules.TryGetValue(option.Name, out var rule)) option.Validators.Add(result => Check(option, rule, result));
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    static void Check(Option option, Rule rule, System.CommandLine.Parsing.OptionResult result)
    {
        if (result.Tokens.Count == 0) return;
        var text = result.Tokens[^1].Value;
        string given = $"{result.IdentifierToken?.Value ?? option.Name} {(text.Length == 0 ? "\"\"" : text)}";
        if (rule == Rule.NonEmpty)
        {
            if (string.IsNullOrWhiteSpace(text)) result.AddError($"{given}: expected a path");
            return;
        }
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)) return; // the parser reports it
        string? problem = rule switch
        {
            Rule.Positive when !(v >= 1) => "expected 1 or more",
            Rule.NonNegative when !(v >= 0) => "expected 0 or more",
            Rule.PositiveFinite when !(v > 0 && double.IsFinite(v)) => "expected a positive number",
            Rule.NonNegativeFinite when !(v >= 0 && double.IsFinite(v)) => "expected 0 or a positive number",
            Rule.Probability when !(v > 0 && v <= 1) => "expected a probability above 0 and at most 1",
            Rule.Fraction when !(v >= 0 && v < 1) => "expected a fraction from 0 up to (not including) 1",
            _ => null,
        };
        if (problem is not null) result.AddError($"{given}: {problem}");
    }
}
