using QuantTune.Fuzz;

namespace QuantTune.Tests.Fuzz;

/// <summary>
/// Replays every committed fuzz input — the seed corpora (fuzz/corpus/TARGET) and the minimised
/// crash repros of fixed findings (fuzz/repros/TARGET) — through its target: each must load or
/// fail with a QuantTuneException naming the file.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    public static TheoryData<string> Targets => new(FuzzTargets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCommittedInputLoadsOrNamesTheFile(string name)
    {
        var target = FuzzTargets.Get(name);
        var inputs = new[] { RepositoryRoot.Corpus(name), RepositoryRoot.Repros(name) }
            .Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d))
            .Where(f => Path.GetFileName(f) != "README.md")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(inputs);
        var findings = new List<string>();
        foreach (var input in inputs)
        {
            try { target.Run(File.ReadAllBytes(input)); }
            catch (FuzzFinding f) { findings.Add($"{Path.GetRelativePath(RepositoryRoot.Find(), input)}: {f.Message}"); }
        }
        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }

    [Fact]
    public void EveryTargetHasASeedCorpus()
    {
        var missing = FuzzTargets.All.Where(t => !Directory.Exists(RepositoryRoot.Corpus(t.Name)) || Directory.GetFiles(RepositoryRoot.Corpus(t.Name)).Length == 0).Select(t => t.Name);
        Assert.Empty(missing);
    }
}
