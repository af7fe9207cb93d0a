using QuantTune.Diagnostics;

namespace QuantTune.Training.Alignment;

/// <summary>Every preference-optimisation objective, one line each (as <c>FineTuneMethodRegistry.All</c> lists the fine-tuning methods).</summary>
public static class AlignmentObjectiveRegistry
{
    public static readonly IReadOnlyList<IAlignmentObjective> All =
    [
        new DpoObjective(),
        new IpoObjective(),
        new OrpoObjective(),
        new KtoObjective(),
        new SimPoObjective(),
    ];

    /// <summary>The registered objectives' names, in the registry's order.</summary>
    public static string Names => string.Join(", ", All.Select(o => o.Name));

    /// <summary>The objective called <paramref name="name"/> (case-insensitive).</summary>
    public static IAlignmentObjective Get(string name) =>
        All.FirstOrDefault(o => string.Equals(o.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new QuantTuneException($"Objective {name}: expected one of {Names}");
}
