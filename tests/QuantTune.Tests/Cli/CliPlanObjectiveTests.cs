using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary>
/// <c>plan --objective</c>: a paired objective's step (DPO) is planned as the fine-tuning step over both completions of
/// each pair, KTO's as one sequence per completion, GRPO's over every sampled completion beside its sampling KV cache,
/// and an unknown objective is refused naming the option.
/// </summary>
public sealed class CliPlanObjectiveTests
{
    static JsonElement Plan(string objective, int batch, params string[] extra)
    {
        var r = CliRunner.Run(["plan", "--model", "llama-3.1-8b", "--method", "qlora", "--batch", $"{batch}", "--seq", "1024", "--objective", objective, "--json", .. extra]);
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
        // GRPO: 2 prompts × 4 completions train as 8 sequences; sampling holds 4 rows' keys and values in 32 layers
        // (8 KV heads of 128, bf16): 2 × 32 × 8 × 128 × 4 × 1024 × 2 bytes.
        var grpo = Plan("grpo", 2, "--num-generations", "4");
        Assert.Equal(M3(Plan("sft", 8)), M3(grpo));
        Assert.Equal(2L * 32 * 8 * 128 * 4 * 1024 * 2, grpo.GetProperty("generation_bytes").GetInt64());
        CliRunner.AssertCleanFailure(CliRunner.Run("plan", "--model", "llama-3.1-8b", "--objective", "ppo"), "--objective ppo: expected sft, grpo or one of dpo");
    }
}
