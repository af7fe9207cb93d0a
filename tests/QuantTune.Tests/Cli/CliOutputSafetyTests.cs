using QuantTune.IO;

namespace QuantTune.Tests.Cli;

/// <summary>
/// What `--out` may do to folders: never delete what QuantTune did not write, never replace
/// the model it reads, and, killed at any step of publishing, leave the old output or the new
/// one (the old one at worst under its documented recovery name, put back by the next run).
/// </summary>
public sealed class CliOutputSafetyTests() : TempFolderTest("qt-out-")
{
    [Fact]
    public void QuantizeRefusesTheModelFolderItselfAndLeavesItIntact()
    {
        var model = Path.Combine(Dir, "model");
        CopyFolder(TestData.TinyLlamaDir, model);
        var before = Snapshot(model);
        var r = CliRunner.Run("quantize", "--model", model, "--scheme", "int8", "--out", model);
        CliRunner.AssertCleanFailure(r, "--out", "source model");
        Assert.Equal(before, Snapshot(model));
        var merge = CliRunner.Run("merge", "--model", model, "--adapter", TestData.TinyLlamaLoraDir, "--out", model);
        CliRunner.AssertCleanFailure(merge, "--out", "source model");
        Assert.Equal(before, Snapshot(model));
    }

    [Fact]
    public void QuantizeIntoAFolderWithOtherFilesIsRefusedAndDeletesNothing()
    {
        var outDir = Path.Combine(Dir, "mine");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "notes.md"), "keep me");
        // Refused before the work (no model loaded, no layer quantized), quantize and gptq alike.
        foreach (string[] command in new[] { ["quantize", "--scheme", "int8"], new[] { "gptq" } })
        {
            var r = CliRunner.Run([.. command, "--model", TestData.TinyLlamaDir, "--out", outDir]);
            CliRunner.AssertCleanFailure(r, $"error: {outDir}: already exists", "notes.md");
            Assert.DoesNotContain("quantizing", r.Stderr);
            Assert.DoesNotContain("layers", r.Stderr);
            Assert.Equal(["notes.md"], Directory.GetFiles(outDir).Select(Path.GetFileName));
            Assert.Equal(["mine"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
        }
    }

    [Theory]
    [InlineData("written", "1")]
    [InlineData("new-moved", "1")]
    [InlineData("written", "0")]
    [InlineData("old-moved", "0")]
    [InlineData("new-moved", "0")]
    public void AQuantizeKilledWhilePublishingLeavesTheOldOutputOrTheNewOne(string step, string exchange)
    {
        var outDir = Path.Combine(Dir, "q");
        var first = CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int8", "--out", outDir);
        Assert.Equal(0, first.ExitCode);
        var old = Snapshot(outDir);

        var env = new Dictionary<string, string> { [AtomicDirectory.KillHookVariable] = step, ["QUANTTUNE_RENAME_EXCHANGE"] = exchange };
        var killed = CliRunner.RunWith(env, "quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int4", "--out", outDir);
        Assert.NotEqual(0, killed.ExitCode);

        var previous = AtomicDirectory.PreviousName(outDir);
        if (Directory.Exists(outDir))
        {
            var now = Snapshot(outDir);
            Assert.True(now.SequenceEqual(old) || now["config.json"].Contains("int4"), $"after a kill at {step}: neither the old output nor the new one");
            if (step == "written") Assert.Equal(old, now);
            if (step == "new-moved") Assert.Contains("int4", now["config.json"]);
        }
        else
        {
            // Only between the two renames: the old output waits under its documented name.
            Assert.Equal("old-moved", step);
            Assert.Equal(old, Snapshot(previous));
        }

        // The next run recovers, cleans up and publishes; nothing is left beside the output.
        var next = CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int4", "--out", outDir);
        Assert.Equal(0, next.ExitCode);
        Assert.Contains("int4", File.ReadAllText(Path.Combine(outDir, "config.json")));
        Assert.Equal(["q"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(dir, f),
            f => Path.GetFileName(f) == "config.json" ? File.ReadAllText(f) : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
