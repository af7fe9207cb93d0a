using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Training.Data;

namespace QuantTune.Training.Alignment.Grpo.Rewards;

/// <summary>
/// 1 when a .NET regular expression matches the completion, else 0: anywhere in it (<c>regex:PATTERN</c>), or the
/// whole completion (<c>format:PATTERN</c>, the required shape, as the "format reward" of R1-style recipes; '.'
/// matches newlines there). A pattern that takes more than a second on one completion scores 0.
/// </summary>
public sealed class PatternReward : IReward
{
    readonly Regex _regex;

    public PatternReward(string name, string pattern, bool whole)
    {
        try
        {
            _regex = new Regex(whole ? $"\\A(?:{pattern})\\z" : pattern, whole ? RegexOptions.Singleline : RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new QuantTuneException($"Reward {name}:{pattern}: not a valid regular expression ({e.Message})");
        }
    }

    public double Score(string completion, PromptRecord prompt)
    {
        try { return _regex.IsMatch(completion) ? 1.0 : 0.0; }
        catch (RegexMatchTimeoutException) { return 0.0; }
    }
}
