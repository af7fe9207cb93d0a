using System.Text.Json;

namespace QuantTune.Tests.Cli;

public sealed class CliGgufTests() : TempFolderTest("qt-cli-gguf-")
{
    double Perplexity(string model)
    {
        var r = CliRunner.Run("eval", "perplexity", "--model", model, "--data", TestData.WikiTestRaw, "--max-tokens", "4097", "--json");
        Assert.Equal(0, r.ExitCode);
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("perplexity").GetDouble();
    }

    [Fact]
    public void F32ExportReproducesThePerplexityAndQ8StaysClose()
    {
        var f32 = Path.Combine(Dir, "m-f32.gguf");
        var q8 = Path.Combine(Dir, "m-q8.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "f32", "--out", f32).ExitCode);
        Assert.Equal(0, CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "q8_0", "--out", q8).ExitCode);
        double original = Perplexity(TestData.TinyLlamaDir);
        Assert.Equal(original, Perplexity(f32), 6);
        Assert.InRange(Perplexity(q8) / original, 0.995, 1.005);
        var info = CliRunner.Run("info", "--model", q8, "--json");
        Assert.Equal(0, info.ExitCode);
        var json = JsonDocument.Parse(info.Stdout).RootElement;
        Assert.Equal("llama", json.GetProperty("metadata").GetProperty("general.architecture").GetString());
        Assert.Equal("Q8_0", json.GetProperty("file_type").GetString());
        Assert.Equal("7 (Q8_0)", json.GetProperty("metadata").GetProperty("general.file_type").GetString());
        Assert.Equal(4 * 7 + 2, json.GetProperty("tensor_types").GetProperty("Q8_0").GetInt32());
        Assert.Contains(json.GetProperty("tensors").EnumerateArray(), t => t.GetProperty("name").GetString() == "blk.0.attn_q.weight" && t.GetProperty("type").GetString() == "Q8_0");
        var g = CliRunner.Run("generate", "--model", q8, "--prompt", "The history of the", "-n", "6", "--no-bos", "--json");
        Assert.Equal(0, g.ExitCode);
    }

    [Fact]
    public void ACorruptGgufIsAClearError()
    {
        var path = Path.Combine(Dir, "bad.gguf");
        File.WriteAllBytes(path, "GGUF\u0003\0\0\0"u8.ToArray());
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", path, "--data", TestData.WikiTestRaw), "bad.gguf");
        CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf", "--model", TestData.TinyLlamaDir, "--type", "q4_k", "--out", path), "--type q4_k", "q4_k_m", "tq2_0");
        CliRunner.AssertCleanFailure(CliRunner.Run("export", "gguf-adapter", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--type", "q8_0", "--out", path), "--type q8_0", "f32, f16");
    }

    [Fact]
    public void LoraAdapterExportedAsGgufEvaluatesLikeThePeftFolder()
    {
        var path = Path.Combine(Dir, "lora.gguf");
        Assert.Equal(0, CliRunner.Run("export", "gguf-adapter", "--model", TestData.TinyLlamaDir, "--adapter", TestData.TinyLlamaLoraDir, "--out", path).ExitCode);
        double Ppl(string adapter)
        {
            var r = CliRunner.Run("eval", "perplexity", "--model", TestData.TinyLlamaDir, "--adapter", adapter, "--data", TestData.WikiTestRaw, "--max-tokens", "1025", "--json");
            Assert.Equal(0, r.ExitCode);
            return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("perplexity").GetDouble();
        }
        Assert.Equal(Ppl(TestData.TinyLlamaLoraDir), Ppl(path), 9);
        var info = CliRunner.Run("info", "--model", path, "--json");
        Assert.Equal(0, info.ExitCode);
        var json = JsonDocument.Parse(info.Stdout).RootElement;
        Assert.Equal("adapter", json.GetProperty("metadata").GetProperty("general.type").GetString());
        Assert.Equal(56, json.GetProperty("tensor_types").GetProperty("F32").GetInt32());
    }
}
