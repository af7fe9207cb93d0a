using System.Text.Json;
using QuantTune.Formats.Gguf;

namespace QuantTune.Tests.Cli;

/// <summary>A newer family through the whole product from the command line, as a user would run it: Qwen3 and Gemma 3.</summary>
public sealed class CliFamilyTests() : TempFolderTest("qt-cli-family-")
{
    [Fact]
    public void Qwen3FinetunesMergesQuantizesExportsAndPlans()
    {
        var data = Path.Combine(Dir, "s.txt");
        File.WriteAllText(data, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "data", "tiny-shakespeare.txt"))[..30_000]);
        var ft = CliRunner.Run("finetune", "--model", TestData.TinyQwen3Dir, "--data", data, "--method", "lora", "--steps", "2", "--batch", "2", "--seq", "32", "--out", Path.Combine(Dir, "run"), "--json");
        Assert.Equal(0, ft.ExitCode);
        var adapter = JsonDocument.Parse(ft.Stdout).RootElement.GetProperty("result_directory").GetString()!;
        var merged = Path.Combine(Dir, "merged");
        Assert.Equal(0, CliRunner.Run("merge", "--model", TestData.TinyQwen3Dir, "--adapter", adapter, "--out", merged).ExitCode);
        var nf4 = Path.Combine(Dir, "nf4");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", merged, "--scheme", "nf4", "--double-quant", "--out", nf4).ExitCode);
        var ppl = CliRunner.Run("eval", "perplexity", "--model", nf4, "--data", TestData.WikiTestRaw, "--max-tokens", "513", "--json");
        Assert.Equal(0, ppl.ExitCode);
        Assert.Equal(512, JsonDocument.Parse(ppl.Stdout).RootElement.GetProperty("predicted_tokens").GetInt64());
        var gguf = Path.Combine(Dir, "q.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", nf4, "--type", "q8_0", "--out", gguf).ExitCode);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal("qwen3", f.Metadata["general.architecture"].AsString());
            Assert.Contains("blk.0.attn_q_norm.weight", f.TensorsByName.Keys);
        }
        var plan = CliRunner.Run("plan", "--model", "qwen3-0.6b", "--method", "qst", "--batch", "1", "--seq", "1024", "--json");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("qst", plan.Stdout);
    }

    [Fact]
    public void Gemma3InfoNamesItsDifferencesAndGenerateMatchesTheReference()
    {
        var info = CliRunner.Run("info", "--model", TestData.TinyGemma3Dir, "--json");
        Assert.Equal(0, info.ExitCode);
        var differences = JsonDocument.Parse(info.Stdout).RootElement.GetProperty("family_differences").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("q/k norms", differences);
        Assert.Contains("sliding window 16 on 2 of 3 layers", differences);
        var g = CliRunner.Run("generate", "--model", TestData.TinyGemma3Dir, "--prompt", "The history of the", "-n", "24", "--no-bos", "--json");
        Assert.Equal(0, g.ExitCode);
        using var reference = new Models.ReferenceOutputs(TestData.TinyGemma3Dir);
        Assert.Equal(reference.GreedyOutputIds, JsonDocument.Parse(g.Stdout).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
    }
}
