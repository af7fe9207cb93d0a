using System.Globalization;
using QuantTune.Diagnostics;

namespace QuantTune.Training.Alignment.Grpo.Rewards;

/// <summary>A built-in reward: its name, what its argument is (null: it takes none, or an optional one), and how it is made from the argument.</summary>
public sealed record RewardKind(string Name, string Description, bool NeedsArgument, Func<string?, IReward> Create);

/// <summary>
/// The built-in rewards by name, one line each (adding one is a class and a line here), and the parse of a reward
/// specification <c>[WEIGHT*]NAME[:ARG]</c>: <c>exact-answer</c>, <c>exact-answer:FIELD</c>, <c>regex:PATTERN</c>,
/// <c>format:PATTERN</c>, <c>0.5*length:200</c>.
/// </summary>
public static class RewardRegistry
{
    public static readonly IReadOnlyList<RewardKind> All =
    [
        new("exact-answer", "1 when the completion's last \\boxed{} or number equals the record's answer (GSM8K's \"#### N\" understood); ARG: the field (default answer)", false,
            arg => new ExactAnswerReward(string.IsNullOrEmpty(arg) ? "answer" : arg)),
        new("regex", "1 when the .NET regular expression ARG matches somewhere in the completion", true, arg => new PatternReward("regex", arg!, whole: false)),
        new("format", "1 when the .NET regular expression ARG matches the whole completion (its required shape)", true, arg => new PatternReward("format", arg!, whole: true)),
        new("length", "1 − min(1, |characters − ARG| / ARG): highest at ARG characters", true, arg =>
            int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? new LengthReward(n)
            : throw new QuantTuneException($"Reward length:{arg}: expected a positive whole number of characters")),
    ];

    /// <summary>The registered rewards' names.</summary>
    public static string Names => string.Join(", ", All.Select(k => k.Name));

    /// <summary>A reward from its specification <c>[WEIGHT*]NAME[:ARG]</c>; its label (for the metrics) is the specification without the weight.</summary>
    public static WeightedReward Parse(string spec)
    {
        string rest = spec.Trim();
        double weight = 1.0;
        int star = rest.IndexOf('*', StringComparison.Ordinal);
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (star > 0 && (colon < 0 || star < colon))
        {
            if (!double.TryParse(rest[..star], NumberStyles.Float, CultureInfo.InvariantCulture, out weight) || !double.IsFinite(weight))
                throw new QuantTuneException($"Reward {spec}: '{rest[..star]}' before '*' is not a weight; expected [WEIGHT*]NAME[:ARG], such as 0.5*format:PATTERN");
            rest = rest[(star + 1)..];
            colon = rest.IndexOf(':', StringComparison.Ordinal);
        }
        string name = colon < 0 ? rest : rest[..colon];
        string? arg = colon < 0 ? null : rest[(colon + 1)..];
        var kind = All.FirstOrDefault(k => string.Equals(k.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new QuantTuneException($"Reward {spec}: no reward called '{name}'; expected one of {Names}");
        if (kind.NeedsArgument && string.IsNullOrEmpty(arg)) throw new QuantTuneException($"Reward {spec}: {kind.Name} needs an argument ({kind.Name}:ARG): {kind.Description}");
        return new WeightedReward(rest, weight, kind.Create(arg));
    }
}

/// <summary>A reward with its weight in the sum of a run's rewards (TRL's reward_weights) and its label in the metrics (rewards/LABEL/mean).</summary>
public sealed record WeightedReward(string Label, double Weight, IReward Reward);
