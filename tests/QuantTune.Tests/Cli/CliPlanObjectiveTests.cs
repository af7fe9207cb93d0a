using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary>
/// <c>plan --objective</c>: a paired objective's step (DPO) is planned as the fine-tuning step over both completions of
/// each pair, KTO's as one sequence per completion, and an unknown objective is refused naming the option.
/// </summary>
public sealed class CliPlanObjectiveTests
{
    static JsonElement Plan(string objective, int batch)
    {
        var r = CliRunner.Run("plan", "--model", "llama-3.1-8b", "--method", "qlora", "--batch", $"{batch}", "--seq", "1024", "--objective", objective, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("plans")[0];
    }

    static long M3(JsonElement plan) => plan.GetProperty("m3").GetInt64();

    [Fact]
    public void PairsCountTwiceAndUnpairedCompletionsOnce()
    {
        Assert.Equal(M3(Plan("sft", 4)), M3(Plan("dpo", 2)));
        Assert.Equal(M3(Plan("sft", 2)), M3(Plan("kto", 2)));
        Assert.True(M3(Plan("orpo", 2)) > M3(Plan("sft", 2)));
        CliRunner.AssertCleanFailure(CliRunner.Run("plan", "--model", "llama-3.1-8b", "--objective", "grpo"), "--objective grpo: expected sft or one of dpo");
    }
}
