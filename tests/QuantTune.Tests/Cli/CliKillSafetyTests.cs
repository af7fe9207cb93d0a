using QuantTune.IO;

namespace QuantTune.Tests.Cli;

/// <summary>
/// A process killed while publishing (by the hook <see cref="KillHook"/> exposes) leaves the
/// old output or the new one, never neither, for `merge`, `export gguf` and `finetune`; the
/// next run cleans up what the killed one left (the kill tests of `quantize` are in
/// <see cref="CliOutputSafetyTests"/>).
/// </summary>
public sealed class CliKillSafetyTests() : TempFolderTest("qt-kill-")
{
    [Theory]
    [InlineData("written", "1")]
    [InlineData("old-moved", "0")]
    [InlineData("new-moved", "0")]
    public void AMergeKilledWhilePublishingLeavesAWholeMergedModel(string step, string exchange)
    {
        var outDir = Path.Combine(Dir, "merged");
        Assert.Equal(0, CliRunner.Run("merge", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--out", outDir).ExitCode);
        var old = Snapshot(outDir);

        var env = new Dictionary<string, string> { [KillHook.StepVariable] = step, ["QUANTTUNE_RENAME_EXCHANGE"] = exchange };
        var killed = CliRunner.RunWith(env, "merge", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--out", outDir);
        Assert.NotEqual(0, killed.ExitCode);
        // The same merge writes the same files, so old and new are equal: what must hold is that a whole one is there.
        var there = Directory.Exists(outDir) ? outDir : AtomicDirectory.PreviousName(outDir);
        if (there != outDir) Assert.Equal("old-moved", step);
        Assert.Equal(old, Snapshot(there));

        Assert.Equal(0, CliRunner.Run("merge", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--out", outDir).ExitCode);
        Assert.Equal(old, Snapshot(outDir));
        Assert.Equal(["merged"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("file-written")]
    [InlineData("file-moved")]
    public void AnExportKilledWhilePublishingLeavesTheOldFileOrTheNewOne(string step)
    {
        var gguf = Path.Combine(Dir, "model.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "f32", "--out", gguf).ExitCode);
        var old = Hash(gguf);

        var killed = CliRunner.RunWith(new Dictionary<string, string> { [KillHook.StepVariable] = step }, "export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "q8_0", "--out", gguf);
        Assert.NotEqual(0, killed.ExitCode);
        var afterKill = Hash(gguf);
        if (step == "file-written") Assert.Equal(old, afterKill);
        else Assert.NotEqual(old, afterKill);

        // The next export removes the killed one's temporary and publishes.
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "q8_0", "--out", gguf).ExitCode);
        Assert.NotEqual(old, Hash(gguf));
        Assert.Equal(["model.gguf"], Directory.GetFileSystemEntries(Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AFineTuneKilledWhileSavingItsResultIsRecoveredByResumeWithoutTraining()
    {
        var data = Path.Combine(Dir, "s.txt");
        TinyShakespeare.WriteSlice(data, 6_000);
        var run = Path.Combine(Dir, "run");
        string[] args = ["finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "lora", "--steps", "2", "--batch", "2", "--seq", "32", "--out", run];

        var killed = CliRunner.RunWith(new Dictionary<string, string> { [KillHook.StepVariable] = "written", [KillHook.TargetVariable] = "adapter" }, args);
        Assert.NotEqual(0, killed.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(run, "adapter")), "the adapter was killed before it was published");

        // The final step's checkpoint was saved before the result: --resume saves the result from it.
        var resumed = CliRunner.Run([.. args, "--resume"]);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("complete", resumed.Stdout + resumed.Stderr);
        Assert.DoesNotContain("step 1/2", resumed.Stderr);
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.Empty(Directory.GetFileSystemEntries(run, ".*.tmp"));
    }

    [Fact]
    public void AReaderPutsBackAModelLeftAsideByAMergeKilledBetweenItsRenames()
    {
        var outDir = Path.Combine(Dir, "merged");
        Assert.Equal(0, CliRunner.Run("merge", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--out", outDir).ExitCode);
        var old = Snapshot(outDir);
        var env = new Dictionary<string, string> { [KillHook.StepVariable] = "old-moved", ["QUANTTUNE_RENAME_EXCHANGE"] = "0" };
        Assert.NotEqual(0, CliRunner.RunWith(env, "merge", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--out", outDir).ExitCode);
        Assert.False(Directory.Exists(outDir));

        // info, a reader, finds the model where it was ("model folder not found" before).
        var info = CliRunner.Run("info", "--model", outDir);
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(old, Snapshot(outDir));
        Assert.False(Directory.Exists(AtomicDirectory.PreviousName(outDir)));
    }

    [Fact]
    public void ResumeFindsACheckpointLeftAsideByASaveKilledBetweenItsRenames()
    {
        var data = Path.Combine(Dir, "s.txt");
        TinyShakespeare.WriteSlice(data, 6_000);
        var run = Path.Combine(Dir, "run");
        string[] args = ["finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "lora", "--batch", "2", "--seq", "32", "--out", run];
        Assert.Equal(0, CliRunner.Run([.. args, "--steps", "2"]).ExitCode);
        // What a kill between the two renames of the next checkpoint save leaves: the previous checkpoint aside, none in place.
        var checkpoint = QuantTune.Training.Checkpoints.TrainingCheckpoint.PathIn(run);
        Directory.Move(checkpoint, AtomicDirectory.PreviousName(checkpoint));

        var resumed = CliRunner.Run([.. args, "--steps", "3", "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr); // "has no checkpoint" before
        Assert.Contains("resumed at 2", resumed.Stdout + resumed.Stderr);
    }

    static string Hash(string file) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)));

    static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), Hash);
}
