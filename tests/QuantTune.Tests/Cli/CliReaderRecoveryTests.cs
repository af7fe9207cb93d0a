using QuantTune.IO;

namespace QuantTune.Tests.Cli;

/// <summary>
/// A model folder named as a user types it (a bare relative name, which is also the form of a Hub id without a
/// namespace) and left aside by a write killed between its two renames is put back and read, not looked up on the Hub.
/// </summary>
public sealed class CliReaderRecoveryTests() : TempFolderTest("qt-cli-recover-")
{
    [Fact]
    public void ABareFolderNameLeftAsideIsPutBackNotDownloaded()
    {
        var aside = AtomicDirectory.PreviousName(Path.Combine(Dir, "mymodel"));
        Directory.CreateDirectory(aside);
        foreach (var f in Directory.GetFiles(TestData.TinyLlamaDir)) File.Copy(f, Path.Combine(aside, Path.GetFileName(f)));
        // Offline, so that a lookup on the Hub would fail at once instead of reaching the network.
        var env = new Dictionary<string, string> { ["HF_HUB_OFFLINE"] = "1", ["HF_HUB_CACHE"] = Path.Combine(Dir, "hub") };

        var info = CliRunner.RunIn(Dir, env, "info", "--model", "mymodel");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.True(File.Exists(Path.Combine(Dir, "mymodel", "config.json")));
        Assert.False(Directory.Exists(aside));

        Directory.Move(Path.Combine(Dir, "mymodel"), aside);
        var plan = CliRunner.RunIn(Dir, env, "plan", "--model", "mymodel", "--batch", "1", "--seq", "64");
        Assert.True(plan.ExitCode == 0, plan.Stderr);
        Assert.False(Directory.Exists(aside));
    }
}
