using System.Text.Json;
using QuantTune.Models.Config;
using QuantTune.Tests.Cli;
using QuantTune.Training.Memory;

namespace QuantTune.Tests.Training.Memory;

/// <summary>plan by name, by Hub id from the local cache, and its switches.</summary>
public sealed class PlanOptionsTests() : TempFolderTest("qt-plan-")
{
    /// <summary>Parameter counts published with each model (model cards): the shipped configs must reproduce them.</summary>
    [Theory]
    [InlineData("llama-2-7b", 6.738e9)]
    [InlineData("llama-3.1-8b", 8.030e9)]
    [InlineData("llama-3.2-1b", 1.236e9)]
    [InlineData("mistral-7b-v0.3", 7.248e9)]
    [InlineData("qwen2.5-0.5b", 0.494e9)]
    [InlineData("qwen2.5-7b", 7.615e9)]
    [InlineData("granite-3.3-8b-instruct", 8.171e9)]
    public void EveryShippedConfigLoadsWithItsPublishedSize(string name, double parameters)
    {
        var config = ModelConfig.Load(ConfigSources.Resolve(name));
        var full = MemoryPlanner.Plan(new PlanRequest(config, "full", 1, 16));
        Assert.InRange(full.TrainableParameters, parameters * 0.999, parameters * 1.001);
        Assert.Contains(name, ConfigSources.ShippedNames);
    }

    [Theory]
    [InlineData("2000000000", "2000000000", "longer than the model's context")]
    [InlineData("131072", "129", "tokens in one micro-batch")]
    public void SizesPastWhatThePlannerCanCountAreRefusedNotPrintedNegative(string seq, string batch, string problem)
    {
        // 2,000,000,000 × 2,000,000,000 used to print LoRA's activations as -2576637464861782016 B.
        var r = CliRunner.Run("plan", "--model", "llama-3.1-8b", "--seq", seq, "--batch", batch);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(problem, r.Stderr);
        Assert.Contains("--seq", r.Stderr);
    }

    [Fact]
    public void AllShippedConfigsParse()
    {
        Assert.True(ConfigSources.ShippedNames.Count >= 10);
        foreach (var name in ConfigSources.ShippedNames) ModelConfig.Load(ConfigSources.Resolve(name));
    }

    [Fact]
    public void TheSwitchesMoveTheFiguresTheWayTheyShould()
    {
        var config = ModelConfig.Load(ConfigSources.Resolve("llama-2-7b"));
        MemoryPlan P(string method, Func<PlanRequest, PlanRequest>? f = null) => MemoryPlanner.Plan((f ?? (x => x))(new PlanRequest(config, method, 4, 512)));
        var qlora = P("qlora");
        Assert.True(P("qlora", x => x with { GradientCheckpointing = true }).M3 < qlora.M3 / 4);
        Assert.Equal(P("qst", x => x with { GradientCheckpointing = true }).M3, P("qst").M3); // the backbone keeps nothing anyway
        var eightBit = P("qlora", x => x with { Optimizer = "adamw8bit" });
        Assert.Equal(qlora.M2 - qlora.TrainableParameters * 6 + qlora.TrainableParameters * 8 / 256, eightBit.M2); // one byte per moment, an fp32 absmax per 256
        var paged = P("qlora", x => x with { Optimizer = "paged-adamw" });
        Assert.Equal(qlora.TrainableParameters * 4, paged.M2);
        Assert.Equal(qlora.TrainableParameters * 8, paged.HostOptimizerBytes);
        var dora = P("qlora", x => x with { Dora = true });
        Assert.Equal(qlora.TrainableParameters + 32L * (4096 * 4 + 11008 * 2 + 4096), dora.TrainableParameters);
        Assert.True(dora.Peak > qlora.Peak);
        var withContext = P("qlora", x => x with { ContextBytes = 1L << 29 });
        Assert.Equal(qlora.Peak + (1L << 29), withContext.Total);
        Assert.Throws<QuantTune.Diagnostics.InvalidSettingException>(() => P("qlora", x => x with { Batch = 0 }));
        Assert.Throws<QuantTune.Diagnostics.InvalidSettingException>(() => P("qlora", x => x with { Optimizer = "sgd" }));
    }

    [Fact]
    public void AHubIdIsReadFromTheLocalCacheLaidOutAsHuggingfaceHubDoes()
    {
        var cache = Path.Combine(Dir, "hub");
        var snapshot = Path.Combine(cache, "models--Qwen--Qwen2.5-0.5B", "snapshots", "060db6499f32faf8b98477b0a26969ef7d8b9987");
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(cache, "models--Qwen--Qwen2.5-0.5B", "refs"));
        File.WriteAllText(Path.Combine(cache, "models--Qwen--Qwen2.5-0.5B", "refs", "main"), "060db6499f32faf8b98477b0a26969ef7d8b9987");
        File.Copy(ConfigSources.Resolve("qwen2.5-0.5b"), Path.Combine(snapshot, "config.json"));
        var r = CliRunner.RunWith(new Dictionary<string, string> { ["HF_HUB_CACHE"] = cache }, "plan", "--model", "Qwen/Qwen2.5-0.5B", "--method", "qlora", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(Path.Combine(snapshot, "config.json"), JsonDocument.Parse(r.Stdout).RootElement.GetProperty("model").GetString());
        var missing = CliRunner.RunWith(new Dictionary<string, string> { ["HF_HUB_CACHE"] = cache, ["HF_HUB_OFFLINE"] = "1" }, "plan", "--model", "Qwen/Qwen3-0.6B");
        CliRunner.AssertCleanFailure(missing, "Qwen/Qwen3-0.6B", "llama-3.1-8b", cache);
    }

    [Fact]
    public void APipedTableKeepsEveryNumberOnItsRow()
    {
        var r = CliRunner.Run("plan", "--model", "llama-2-70b", "--budget", "48", "--optimizer", "paged-adamw", "--gradient-checkpointing");
        Assert.Equal(0, r.ExitCode);
        var rows = r.Stdout.Split('\n').Where(l => l.StartsWith("| ")).ToList();
        Assert.Equal(5, rows.Count); // header + full, lora, qlora, qst
        Assert.All(rows, row => Assert.Equal(9, row.Count(ch => ch == '|')));
        Assert.Contains("paged AdamW keeps", r.Stdout);
        Assert.Contains("CUDA context", r.Stdout);
    }
}
