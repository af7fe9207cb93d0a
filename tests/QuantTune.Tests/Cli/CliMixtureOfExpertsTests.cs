using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary>Qwen2-MoE and Mixtral from the command line, as a user would run them: info names the experts, generate matches the reference, perplexity, LoRA on the experts (aux_loss in metrics.jsonl, PEFT's names for the shared expert and Mixtral's w1/w3/w2), QLoRA, QST and merge.</summary>
public sealed class CliMixtureOfExpertsTests() : TempFolderTest("qt-cli-moe-")
{
    [Theory]
    [InlineData("tiny-qwen2-moe", "mixture of experts on 2 of 3 layers: 8 experts of width 32, top-2", "shared expert of width 64, sigmoid-gated on every sparse layer",
        "base_model.model.model.layers.2.mlp.shared_expert.down_proj.lora_B.weight")]
    [InlineData("tiny-mixtral", "mixture of experts on 2 of 2 layers: 8 experts of width 32, top-2 renormalised", "sliding window 16 on 2 of 2 layers",
        "base_model.model.model.layers.1.block_sparse_moe.experts.5.w2.lora_B.weight")]
    public void InfoGeneratesEvaluatesFinetunesAndMerges(string fixture, string experts, string difference, string adapterKey)
    {
        var model = TestData.Fixture(fixture);
        var info = CliRunner.Run("info", "--model", model, "--json");
        Assert.True(info.ExitCode == 0, info.Stderr);
        var differences = JsonDocument.Parse(info.Stdout).RootElement.GetProperty("family_differences").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains(experts, differences);
        Assert.Contains(difference, differences);
        var g = CliRunner.Run("generate", "--model", model, "--prompt", "The history of the", "-n", "24", "--no-bos", "--json");
        Assert.True(g.ExitCode == 0, g.Stderr);
        using (var reference = new Models.ReferenceOutputs(model))
            Assert.Equal(reference.GreedyOutputIds, JsonDocument.Parse(g.Stdout).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
        var ppl = CliRunner.Run("eval", "perplexity", "--model", model, "--data", TestData.WikiTestRaw, "--max-tokens", "513", "--json");
        Assert.True(ppl.ExitCode == 0, ppl.Stderr);
        Assert.Equal(512, JsonDocument.Parse(ppl.Stdout).RootElement.GetProperty("predicted_tokens").GetInt64());
        var data = Path.Combine(Dir, "s.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..30_000]);
        var runs = new Dictionary<string, string>();
        foreach (var method in new[] { "lora", "qlora", "qst" })
        {
            var ft = CliRunner.Run("finetune", "--model", model, "--data", data, "--method", method, "--steps", "2", "--batch", "2", "--seq", "32", "--out", Path.Combine(Dir, method), "--json");
            Assert.True(ft.ExitCode == 0, method + ": " + ft.Stderr);
            runs[method] = JsonDocument.Parse(ft.Stdout).RootElement.GetProperty("result_directory").GetString()!;
            Assert.Contains("\"aux_loss\"", File.ReadAllText(Path.Combine(Dir, method, "metrics.jsonl")));
        }
        using (var adapter = QuantTune.Formats.Safetensors.SafetensorsFile.Open(Path.Combine(runs["lora"], "adapter_model.safetensors")))
            Assert.Contains(adapterKey, adapter.Tensors.Keys);
        var merged = Path.Combine(Dir, "merged");
        var merge = CliRunner.Run("merge", "--model", model, "--adapter", runs["lora"], "--out", merged);
        Assert.True(merge.ExitCode == 0, merge.Stderr);
        Assert.True(CliRunner.Run("eval", "perplexity", "--model", merged, "--data", TestData.WikiTestRaw, "--max-tokens", "513", "--json").ExitCode == 0);
        Assert.Equal(0, CliRunner.Run("generate", "--model", model, "--qst", runs["qst"], "--prompt", "ROMEO:", "-n", "4").ExitCode);
    }
}
