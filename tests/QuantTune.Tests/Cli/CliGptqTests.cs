using System.Text.Json;

namespace QuantTune.Tests.Cli;

public sealed class CliGptqTests() : TempFolderTest("qt-cligptq-")
{
    /// <summary>The GPTQ layout end to end (QuantTune's own layout is loaded back in GptqModelTests).</summary>
    [Theory]
    [InlineData("gptq", "--act-order")]
    public void GptqFolderLoadsInEvalAndGenerate(string format, string extra)
    {
        var outDir = Path.Combine(Dir, format);
        var q = CliRunner.Run("gptq", "--model", TestData.TinyLlamaDir, "--bits", "4", "--group", "128", extra, "--samples", "4", "--seq", "64",
            "--format", format, "--out", outDir, "--json");
        Assert.True(q.ExitCode == 0, q.Stderr);
        var summary = JsonDocument.Parse(q.Stdout).RootElement;
        Assert.Equal(4, summary.GetProperty("layers").GetArrayLength());
        Assert.Equal(7, summary.GetProperty("layers")[0].GetProperty("linears").GetArrayLength());
        Assert.True(summary.GetProperty("relative_output_error").GetDouble() < summary.GetProperty("rtn_relative_output_error").GetDouble());
        if (format == "gptq")
        {
            var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "config.json"))).RootElement.GetProperty("quantization_config");
            Assert.Equal("gptq", config.GetProperty("quant_method").GetString());
            Assert.Equal(4, config.GetProperty("bits").GetInt32());
            Assert.True(config.GetProperty("desc_act").GetBoolean());
        }
        var e = CliRunner.Run("eval", "perplexity", "--model", outDir, "--data", TestData.WikiTestRaw, "--max-tokens", "1025", "--json");
        Assert.True(e.ExitCode == 0, e.Stderr);
        Assert.InRange(JsonDocument.Parse(e.Stdout).RootElement.GetProperty("perplexity").GetDouble(), 20, 400);
        var g = CliRunner.Run("generate", "--model", outDir, "--prompt", "The history of the", "-n", "4", "--json");
        Assert.True(g.ExitCode == 0, g.Stderr);
    }

    [Fact]
    public void BadOptionsAreRejectedBeforeAnythingIsWritten()
    {
        var outDir = Path.Combine(Dir, "never");
        string[] Args(params string[] extra) => ["gptq", "--model", TestData.TinyLlamaDir, "--out", outDir, .. extra];
        CliRunner.AssertCleanFailure(CliRunner.Run(Args("--bits", "5")), "--bits", "5", "2, 3, 4 or 8");
        CliRunner.AssertCleanFailure(CliRunner.Run(Args("--group", "0")), "--group", "0");
        CliRunner.AssertCleanFailure(CliRunner.Run(Args("--group", "4096", "--samples", "1", "--seq", "16")), "--group 4096", "256 input features");
        CliRunner.AssertCleanFailure(CliRunner.Run(Args("--calibration-data", Path.Combine(Dir, "none.txt"))), "none.txt", "not found", "--calibration-data");
        CliRunner.AssertCleanFailure(CliRunner.Run(Args("--format", "awq")), "--format awq");
        CliRunner.AssertCleanFailure(CliRunner.Run(Args("--seq", "5000", "--samples", "1")), "--seq 5000", "context (1024 tokens");
        CliRunner.AssertCleanFailure(CliRunner.Run("gptq", "--model", Path.Combine(Dir, "nope"), "--out", outDir), "nope", "not found");
        Assert.False(Directory.Exists(outDir));
    }
}
