using QuantTune.Diagnostics;
using QuantTune.IO;

namespace QuantTune.Tests.IO;

public sealed class AtomicDirectoryTests() : TempFolderTest("qt-atomic-")
{
    static void WriteFiles(string dir, params string[] names)
    {
        foreach (var n in names)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, n))!);
            File.WriteAllText(Path.Combine(dir, n), "new " + n);
        }
    }

    [Fact]
    public void AnOutputThatRewritesEveryFileReplacesTheFolder()
    {
        var target = Path.Combine(Dir, "out");
        AtomicDirectory.Write(target, d => WriteFiles(d, "a.txt", "sub/b.txt"));
        File.WriteAllText(Path.Combine(target, "a.txt"), "old");
        AtomicDirectory.Write(target, d => WriteFiles(d, "a.txt", "sub/b.txt", "c.txt"));
        Assert.Equal("new a.txt", File.ReadAllText(Path.Combine(target, "a.txt")));
        Assert.True(File.Exists(Path.Combine(target, "c.txt")));
        Assert.Equal(["out"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AFolderHoldingOtherFilesIsRefusedAndLeftAsItWas()
    {
        var target = Path.Combine(Dir, "mine");
        Directory.CreateDirectory(Path.Combine(target, "notes"));
        File.WriteAllText(Path.Combine(target, "notes", "thesis.tex"), "years of work");
        File.WriteAllText(Path.Combine(target, "a.txt"), "old");
        var e = Assert.Throws<QuantTuneException>(() => AtomicDirectory.Write(target, d => WriteFiles(d, "a.txt")));
        Assert.Contains(target, e.Message);
        Assert.Contains("thesis.tex", e.Message);
        Assert.Equal("years of work", File.ReadAllText(Path.Combine(target, "notes", "thesis.tex")));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "a.txt")));
        Assert.Equal(["mine"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void APreviousFolderLeftByAKillBetweenTheRenamesIsPutBack()
    {
        var target = Path.Combine(Dir, "model");
        var previous = AtomicDirectory.PreviousName(target);
        Directory.CreateDirectory(previous);
        File.WriteAllText(Path.Combine(previous, "a.txt"), "old");
        AtomicDirectory.Recover(target);
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "a.txt")));
        Assert.False(Directory.Exists(previous));

        // Killed after the new folder was in place: the previous one is only removed.
        Directory.CreateDirectory(previous);
        AtomicDirectory.Recover(target);
        Assert.False(Directory.Exists(previous));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "a.txt")));
    }

    [Fact]
    public void TemporariesOfProcessesThatNoLongerRunAreRemovedAtTheNextWrite()
    {
        var target = Path.Combine(Dir, "run");
        var stale = Path.Combine(Dir, $".run.{int.MaxValue - 7}.0123456789abcdef.tmp");
        var live = Path.Combine(Dir, $".run.{Environment.ProcessId}.fedcba9876543210.tmp");
        var other = Path.Combine(Dir, $".other.{int.MaxValue - 7}.0123456789abcdef.tmp");
        foreach (var d in new[] { stale, live, other }) Directory.CreateDirectory(d);
        AtomicDirectory.Write(target, d => WriteFiles(d, "a.txt"));
        Assert.False(Directory.Exists(stale));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(other));
    }

    [Fact]
    public void TheSourceFolderOrOneHoldingItIsRefusedAsOutput()
    {
        var model = Path.Combine(Dir, "models", "tiny");
        Directory.CreateDirectory(model);
        Assert.Contains("--out", Assert.Throws<QuantTuneException>(() => OutputFolder.RefuseSource(model + "/", model, "--out")).Message);
        Assert.Contains("holds", Assert.Throws<QuantTuneException>(() => OutputFolder.RefuseSource(Path.Combine(Dir, "models"), model)).Message);
        OutputFolder.RefuseSource(Path.Combine(Dir, "models", "tiny-q"), model);
    }
}
