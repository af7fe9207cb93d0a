using System.Text.Json;

namespace QuantTune.Tests.Cli;

public sealed class CliCommandTests
{
    [Fact]
    public void InfoReportsArchitectureParametersAndDTypes()
    {
        var r = CliRunner.Run("info", "--model", TestData.TinyLlamaDir, "--json");
        Assert.Equal(0, r.ExitCode);
        var json = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal("llama", json.GetProperty("model_type").GetString());
        Assert.Equal(5_048_576, json.GetProperty("parameters").GetInt64());
        Assert.Equal(3, json.GetProperty("shards").GetInt32());
        Assert.Equal(2 * 5_048_576, json.GetProperty("dtypes").GetProperty("BF16").GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void GenerateReproducesTheReferenceGreedyTokens()
    {
        var r = CliRunner.Run("generate", "--model", TestData.TinyLlamaDir, "--prompt", "The history of the", "-n", "24", "--no-bos", "--json");
        Assert.Equal(0, r.ExitCode);
        var output = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32());
        using var reference = new Models.ReferenceOutputs(TestData.TinyLlamaDir);
        Assert.Equal(reference.GreedyOutputIds, output);
    }

    [Fact]
    public void EvalPerplexityWritesJson()
    {
        var r = CliRunner.Run("eval", "perplexity", "--model", TestData.TinyLlamaDir, "--data", TestData.WikiTestRaw, "--max-tokens", "1025", "--json");
        Assert.Equal(0, r.ExitCode);
        var json = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(1024, json.GetProperty("predicted_tokens").GetInt64());
        Assert.InRange(json.GetProperty("perplexity").GetDouble(), 20, 400);
        Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
    }

    [Fact]
    public void DemoRunsOnTheEmbeddedModelWithNoArgument()
    {
        var outDir = Directory.CreateTempSubdirectory("qt-demo-").FullName;
        CliRunner.Result r;
        try { r = CliRunner.Run("demo", "--max-tokens", "2049", "--steps", "2", "--batch", "2", "--seq", "32", "--chat-steps", "2", "--out", outDir, "--json"); }
        finally
        {
            Assert.True(File.Exists(Path.Combine(outDir, "comparison.png")));
            Assert.True(File.Exists(Path.Combine(outDir, "chat-qlora", "adapter", "adapter_config.json")));
            Directory.Delete(outDir, recursive: true);
        }
        Assert.Equal(0, r.ExitCode);
        var json = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(["lora", "qlora", "qst"], json.GetProperty("fine_tuning").EnumerateArray().Select(e => e.GetProperty("method").GetString()));
        Assert.True(json.GetProperty("gguf").GetProperty("gguf_perplexity").GetDouble() > 1);
        Assert.Equal(5_048_576, json.GetProperty("model").GetProperty("parameters").GetInt64());
        Assert.Equal(2048, json.GetProperty("perplexity").GetProperty("predicted_tokens").GetInt64());
        using var reference = new Models.ReferenceOutputs(TestData.TinyLlamaDir);
        Assert.Equal(reference.GreedyOutputIds, json.GetProperty("generation").GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
        // The chat story: the same question before and after a chat fine-tune, in the fallback template.
        var chat = json.GetProperty("chat");
        Assert.Equal("What is the capital of Germany?", chat.GetProperty("question").GetString());
        Assert.NotNull(chat.GetProperty("before").GetString());
        Assert.NotNull(chat.GetProperty("after").GetString());
        Assert.Contains("zephyr", chat.GetProperty("chat_template").GetString());
        Assert.True(double.IsFinite(chat.GetProperty("perplexity_after").GetDouble()));
    }

    [Fact]
    public void UsageErrorsExitWithTwo()
    {
        var r = CliRunner.Run("generate", "--model", TestData.TinyLlamaDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--prompt", r.Stderr);
    }
}
