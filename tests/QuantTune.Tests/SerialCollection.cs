namespace QuantTune.Tests;

/// <summary>
/// Tests that read process-wide state — resident memory, libtorch's global random generator
/// (dropout) — run alone: xunit runs this collection after the parallel ones, one test at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial: process-wide state";
}
