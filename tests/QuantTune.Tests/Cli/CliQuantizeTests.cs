using System.Text.Json;

namespace QuantTune.Tests.Cli;

public sealed class CliQuantizeTests() : TempFolderTest("qt-cliq-")
{
    [Theory]
    [InlineData("nf4", "--double-quant")]
    [InlineData("int4", "--block=64")]
    public void QuantizedFolderLoadsInEvalAndGenerate(string scheme, string extra)
    {
        var outDir = Path.Combine(Dir, scheme);
        var q = CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", scheme, extra, "--out", outDir, "--json");
        Assert.Equal(0, q.ExitCode);
        var summary = JsonDocument.Parse(q.Stdout).RootElement;
        Assert.Equal(28, summary.GetProperty("layers").GetInt32());
        Assert.InRange(summary.GetProperty("bits_per_weight").GetDouble(), 4.1, 4.6);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.Empty(Directory.GetDirectories(Dir, ".*")); // no temporary folder left behind

        var e = CliRunner.Run("eval", "perplexity", "--model", outDir, "--data", TestData.WikiTestRaw, "--max-tokens", "2049", "--json");
        Assert.Equal(0, e.ExitCode);
        Assert.InRange(JsonDocument.Parse(e.Stdout).RootElement.GetProperty("perplexity").GetDouble(), 20, 400);
        var g = CliRunner.Run("generate", "--model", outDir, "--prompt", "The history of the", "-n", "8", "--json");
        Assert.Equal(0, g.ExitCode);
    }

    [Fact]
    public void ImpossibleSchemeOptionsAreRejectedBeforeAnythingIsWritten()
    {
        var outDir = Path.Combine(Dir, "never");
        CliRunner.AssertCleanFailure(CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int4", "--block", "1000000", "--out", outDir), "--block", "1000000");
        CliRunner.AssertCleanFailure(CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "nf4", "--block", "48", "--out", outDir), "--block 48", "power of two");
        CliRunner.AssertCleanFailure(CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int9", "--out", outDir), "--bits", "9");
        CliRunner.AssertCleanFailure(CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "q5", "--out", outDir), "--scheme q5", "nf4");
        CliRunner.AssertCleanFailure(CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "nf4", "--clip-method", "kl", "--out", outDir), "--clip-method kl");
        Assert.False(Directory.Exists(outDir));
    }
}
