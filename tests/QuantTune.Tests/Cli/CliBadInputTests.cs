namespace QuantTune.Tests.Cli;

/// <summary>Bad input through the CLI: one clear line naming the file and field, exit code 1, no stack trace.</summary>
public sealed class CliBadInputTests() : TempFolderTest("qt-cli-")
{
    string CopyOf(string source)
    {
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
        return Dir;
    }

    void Edit(string file, string from, string to)
    {
        var path = Path.Combine(Dir, file);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
    }

    [Fact]
    public void MissingModelFolder()
    {
        CliRunner.AssertCleanFailure(CliRunner.Run("info", "--model", Path.Combine(Dir, "nope")), "nope", "not found");
    }

    [Fact]
    public void UnknownModelType()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("config.json", "\"model_type\": \"llama\"", "\"model_type\": \"bert\"");
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", Dir, "--prompt", "x"), "config.json", "model_type", "'bert'");
    }

    [Fact]
    public void MissingConfigKey()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("config.json", "\"num_hidden_layers\": 4,", "");
        CliRunner.AssertCleanFailure(CliRunner.Run("info", "--model", Dir), "config.json", "num_hidden_layers", "missing");
    }

    [Fact]
    public void UnsupportedTokenizerModel()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("tokenizer.json", "\"type\": \"BPE\"", "\"type\": \"SentencePieceBPE\"");
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", Dir, "--prompt", "x"), "tokenizer.json", "model.type", "SentencePieceBPE");
    }

    [Fact]
    public void TruncatedShard()
    {
        CopyOf(TestData.TinyLlamaDir);
        var shard = Path.Combine(Dir, "model-00002-of-00003.safetensors");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..1000]);
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", Dir, "--data", TestData.WikiTestRaw), "model-00002-of-00003.safetensors");
    }

    [Fact]
    public void MissingShard()
    {
        CopyOf(TestData.TinyLlamaDir);
        File.Delete(Path.Combine(Dir, "model-00001-of-00003.safetensors"));
        CliRunner.AssertCleanFailure(CliRunner.Run("info", "--model", Dir), "model-00001-of-00003.safetensors", "missing");
    }

    [Fact]
    public void WeightShapeDisagreesWithConfig()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("config.json", "\"intermediate_size\": 704", "\"intermediate_size\": 512");
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", Dir, "--prompt", "x"), "shape", "[704, 256]");
    }

    [Fact]
    public void MissingDataFile()
    {
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", TestData.TinyLlamaDir, "--data", Path.Combine(Dir, "none.txt")), "none.txt", "not found");
    }

    [Fact]
    public void CudaRequestedWithoutCuda()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // only meaningful on a machine without CUDA
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", TestData.TinyLlamaDir, "--prompt", "x", "--device", "cuda"), "--device cuda", "CUDA is not available");
    }
}
