using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary>Gemma 4's text model from the command line: info names its differences, generate gives the reference's greedy ids, eval, LoRA finetune and merge run, plan reads gemma-4-e2b, and what is not built (QST, GGUF export) is refused.</summary>
public sealed class CliGemma4Tests() : TempFolderTest("qt-cli-gemma4-")
{
    [Fact]
    public void Gemma4InfoGeneratesEvaluatesFinetunesMergesAndPlans()
    {
        var model = TestData.TinyGemma4Dir;
        var info = CliRunner.Run("info", "--model", model, "--json");
        Assert.True(info.ExitCode == 0, info.Stderr);
        var differences = JsonDocument.Parse(info.Stdout).RootElement.GetProperty("family_differences").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("full-attention heads of 32 (sliding ones 16)", differences);
        Assert.Contains("the last 2 layers attend over earlier layers' keys and values", differences);
        Assert.Contains("per-layer inputs of 8", differences);
        Assert.Contains("keys as values on the full-attention layers (1 key heads)", differences);
        var g = CliRunner.Run("generate", "--model", model, "--prompt", "The history of the", "-n", "24", "--no-bos", "--json");
        Assert.True(g.ExitCode == 0, g.Stderr);
        using (var reference = new Models.ReferenceOutputs(model))
            Assert.Equal(reference.GreedyOutputIds, JsonDocument.Parse(g.Stdout).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
        var ppl = CliRunner.Run("eval", "perplexity", "--model", model, "--data", TestData.WikiTestRaw, "--max-tokens", "513", "--json");
        Assert.True(ppl.ExitCode == 0, ppl.Stderr);
        Assert.Equal(512, JsonDocument.Parse(ppl.Stdout).RootElement.GetProperty("predicted_tokens").GetInt64());
        var data = Path.Combine(Dir, "s.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..30_000]);
        var ft = CliRunner.Run("finetune", "--model", model, "--data", data, "--method", "lora", "--steps", "2", "--batch", "2", "--seq", "80", "--out", Path.Combine(Dir, "lora"), "--json");
        Assert.True(ft.ExitCode == 0, ft.Stderr);
        var adapterDir = JsonDocument.Parse(ft.Stdout).RootElement.GetProperty("result_directory").GetString()!;
        using (var adapter = QuantTune.Formats.Safetensors.SafetensorsFile.Open(Path.Combine(adapterDir, "adapter_model.safetensors")))
        {
            Assert.Contains("base_model.model.model.layers.4.self_attn.q_proj.lora_A.weight", adapter.Tensors.Keys);
            Assert.DoesNotContain("base_model.model.model.layers.4.self_attn.k_proj.lora_A.weight", adapter.Tensors.Keys);
            Assert.Contains("base_model.model.model.layers.0.per_layer_input_gate.lora_A.weight", adapter.Tensors.Keys);
            Assert.Contains("base_model.model.model.per_layer_model_projection.lora_B.weight", adapter.Tensors.Keys);
        }
        var merged = Path.Combine(Dir, "merged");
        var merge = CliRunner.Run("merge", "--model", model, "--adapter", adapterDir, "--out", merged);
        Assert.True(merge.ExitCode == 0, merge.Stderr);
        Assert.True(CliRunner.Run("eval", "perplexity", "--model", merged, "--data", TestData.WikiTestRaw, "--max-tokens", "513", "--json").ExitCode == 0);
        var plan = CliRunner.Run("plan", "--model", "gemma-4-e2b", "--method", "qlora", "--batch", "1", "--seq", "1024", "--json");
        Assert.True(plan.ExitCode == 0, plan.Stdout + plan.Stderr);
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", model, "--data", data, "--method", "qst", "--steps", "1", "--out", Path.Combine(Dir, "qst")), "QST", "per-layer inputs");
        var gguf = Path.Combine(Dir, "g4.gguf");
        CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf", "--model", model, "--type", "q8_0", "--out", gguf), "gemma4_text");
        Assert.False(File.Exists(gguf));
    }
}
