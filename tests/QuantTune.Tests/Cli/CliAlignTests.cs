using System.Text.Json;
using QuantTune.Tests.Training.Alignment;

namespace QuantTune.Tests.Cli;

public sealed class CliAlignTests() : TempFolderTest("qt-cli-align-")
{
    [Fact]
    public void DpoWithQloraWritesAnAdapterMetricsWithTrlsNamesAndASummary()
    {
        var data = PreferenceSet.Write(Path.Combine(Dir, "pairs.jsonl"), 20, 0, 1);
        var run = Path.Combine(Dir, "run");
        var r = CliRunner.Run("align", "--model", TestData.TinyLlamaDir, "--data", data, "--objective", "dpo", "--method", "qlora", "--steps", "3",
            "--batch", "2", "--lr", "5e-3", "--out", run, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var summary = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal("dpo", summary.GetProperty("objective").GetString());
        Assert.Equal("qlora", summary.GetProperty("method").GetString());
        Assert.Equal("the NF4 base with the adapter disabled", summary.GetProperty("reference").GetString());
        Assert.True(summary.GetProperty("eval_metrics_after").TryGetProperty("rewards/accuracies", out _));
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "summary.json")));
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(3, lines.Length);
        // The progress shows the reward margin and accuracy, and the held-out loss rather than a perplexity.
        Assert.Contains("dpo qlora: step 3/3 loss ", r.Stderr);
        Assert.Contains(" margin ", r.Stderr);
        Assert.Contains(" eval loss ", r.Stderr);
        Assert.Contains("\"rewards/margins\":", lines[0]);
        Assert.Contains("\"logps/rejected\":", lines[0]);
    }

    [Theory]
    [InlineData("--objective", "grpo", "--objective grpo: expected one of dpo, ipo, orpo, kto, simpo")]
    [InlineData("--method", "full", "--method full with --objective dpo")]
    [InlineData("--method", "ia3", "--method ia3: preference optimisation trains lora, qlora, dora, qst or full")]
    [InlineData("--label-smoothing", "0.5", "--label-smoothing 0.5: expected a probability in [0, 0.5)")]
    public void BadOptionsAreRefusedNamingTheOption(string option, string value, string message)
    {
        var data = PreferenceSet.Write(Path.Combine(Dir, "pairs.jsonl"), 4, 0, 1);
        var r = CliRunner.Run("align", "--model", TestData.TinyLlamaDir, "--data", data, "--out", Path.Combine(Dir, "bad"), option, value);
        CliRunner.AssertCleanFailure(r, message);
    }
}
