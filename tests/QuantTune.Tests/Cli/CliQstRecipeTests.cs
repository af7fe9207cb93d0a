using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary>`--method qst` takes the official QST run's training settings where the user set none, and says so.</summary>
public sealed class CliQstRecipeTests() : TempFolderTest("qt-qst-recipe-")
{
    (JsonElement Summary, List<JsonElement> Steps) Run(string name, params string[] extra)
    {
        var data = Path.Combine(Dir, "s.txt");
        if (!File.Exists(data))
            TinyShakespeare.WriteSlice(data, 8_000);
        var run = Path.Combine(Dir, name);
        var r = CliRunner.Run(["finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "qst", "--steps", "10",
            "--batch", "4", "--seq", "16", "--out", run, "--json", .. extra]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var steps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        return (JsonDocument.Parse(r.Stdout).RootElement.Clone(), steps);
    }

    static double Lr(JsonElement step) => step.GetProperty("learning_rate").GetDouble();

    [Fact]
    public void QstDefaultsToTheOfficialRecipeAndTheUsersOwnSettingsWin()
    {
        var (summary, steps) = Run("recipe", "--lr", "1e-3");
        Assert.Equal("paged-adamw", summary.GetProperty("optimizer").GetString());
        var note = summary.GetProperty("optimizer_note").GetString()!;
        Assert.Contains("QST recipe defaults", note);
        Assert.Contains("constant schedule, 3 % warmup (1 step), max grad norm 0.3, paged AdamW 32-bit", note); // ⌈0.03 · 10⌉
        // One warmup step, then constant at the peak (no cosine decay).
        Assert.True(Lr(steps[0]) < 1e-3);
        Assert.All(steps.Skip(1), s => Assert.Equal(1e-3, Lr(s), 12));

        var (mine, mySteps) = Run("mine", "--lr", "1e-3", "--schedule", "cosine", "--optimizer", "adamw");
        Assert.Equal("adamw", mine.GetProperty("optimizer").GetString());
        var myNote = mine.GetProperty("optimizer_note").GetString()!;
        Assert.Contains("3 % warmup (1 step)", myNote);
        Assert.Contains("max grad norm 0.3", myNote);
        Assert.DoesNotContain("constant", myNote);
        Assert.DoesNotContain("paged", myNote);
        Assert.True(Lr(mySteps[^1]) < Lr(mySteps[2]), "cosine decays as the user asked");
    }
}
