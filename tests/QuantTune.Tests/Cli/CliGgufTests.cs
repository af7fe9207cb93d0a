using System.Text.Json;

namespace QuantTune.Tests.Cli;

public sealed class CliGgufTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("qt-cli-gguf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    double Perplexity(string model)
    {
        var r = CliRunner.Run("eval", "perplexity", "--model", model, "--data", TestData.WikiTestRaw, "--max-tokens", "4097", "--json");
        Assert.Equal(0, r.ExitCode);
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("perplexity").GetDouble();
    }

    [Fact]
    public void F32ExportReproducesThePerplexityAndQ8StaysClose()
    {
        var f32 = Path.Combine(_dir, "m-f32.gguf");
        var q8 = Path.Combine(_dir, "m-q8.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "f32", "--out", f32).ExitCode);
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "q8_0", "--out", q8).ExitCode);
        double original = Perplexity(TestData.TinyLlamaDir);
        Assert.Equal(original, Perplexity(f32), 6);
        Assert.InRange(Perplexity(q8) / original, 0.995, 1.005);
        var info = CliRunner.Run("info", "--model", q8, "--json");
        Assert.Equal(0, info.ExitCode);
        var json = JsonDocument.Parse(info.Stdout).RootElement;
        Assert.Equal("llama", json.GetProperty("metadata").GetProperty("general.architecture").GetString());
        Assert.Contains(json.GetProperty("tensors").EnumerateArray(), t => t.GetProperty("name").GetString() == "blk.0.attn_q.weight" && t.GetProperty("type").GetString() == "Q8_0");
        var g = CliRunner.Run("generate", "--model", q8, "--prompt", "The history of the", "-n", "6", "--no-bos", "--json");
        Assert.Equal(0, g.ExitCode);
    }

    [Fact]
    public void ACorruptGgufIsAClearError()
    {
        var path = Path.Combine(_dir, "bad.gguf");
        File.WriteAllBytes(path, "GGUF\u0003\0\0\0"u8.ToArray());
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", path, "--data", TestData.WikiTestRaw), "bad.gguf");
        CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "q4_k", "--out", path), "--type q4_k");
    }
}
