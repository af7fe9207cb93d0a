using System.Text.Json;
using QuantTune.Tests.Training.Alignment.Grpo;

namespace QuantTune.Tests.Cli;

/// <summary><c>quanttune grpo</c>: a short run writes the adapter, metrics under TRL's names, reward.png and a summary; a bad reward is refused naming --reward.</summary>
public sealed class CliGrpoTests() : TempFolderTest("qt-cli-grpo-")
{
    [Fact]
    public void GrpoWritesAnAdapterRewardsAndASummaryAndRefusesAnUnknownReward()
    {
        var prompts = GrpoTests.WritePrompts(Path.Combine(Dir, "prompts.jsonl"));
        var run = Path.Combine(Dir, "run");
        var r = CliRunner.Run("grpo", "--model", TestData.TinyLlamaDir, "--data", prompts, "--reward", @"regex:\bthe\b", "--reward", "0.5*length:20",
            "--num-generations", "2", "--max-completion-length", "4", "--steps", "2", "--batch", "2", "--lr", "5e-3", "--beta", "0.04", "--out", run, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var summary = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal("lora", summary.GetProperty("method").GetString());
        Assert.Equal("the base model with the adapter disabled", summary.GetProperty("reference").GetString());
        Assert.Equal([@"regex:\bthe\b", "0.5*length:20"], summary.GetProperty("rewards").EnumerateArray().Select(e => e.GetString()));
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "reward.png")));
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"reward\":", lines[0]);
        Assert.Contains("\"rewards/length:20/mean\":", lines[0]);

        var bad = CliRunner.Run("grpo", "--model", TestData.TinyLlamaDir, "--data", prompts, "--reward", "nope", "--out", Path.Combine(Dir, "bad"));
        CliRunner.AssertCleanFailure(bad, "--reward nope: no reward called 'nope'");
    }
}
