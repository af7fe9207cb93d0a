namespace QuantTune.Tests.Cli;

/// <summary>Bad input through the CLI: one clear line naming the file and field, exit code 1, no stack trace.</summary>
public sealed class CliBadInputTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("qt-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string CopyOf(string source)
    {
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(_dir, Path.GetFileName(f)));
        return _dir;
    }

    void Edit(string file, string from, string to)
    {
        var path = Path.Combine(_dir, file);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
    }

    [Fact]
    public void MissingModelFolder()
    {
        CliRunner.AssertCleanFailure(CliRunner.Run("info", "--model", Path.Combine(_dir, "nope")), "nope", "not found");
    }

    [Fact]
    public void UnknownModelType()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("config.json", "\"model_type\": \"llama\"", "\"model_type\": \"bert\"");
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", _dir, "--prompt", "x"), "config.json", "model_type", "'bert'");
    }

    [Fact]
    public void MissingConfigKey()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("config.json", "\"num_hidden_layers\": 4,", "");
        CliRunner.AssertCleanFailure(CliRunner.Run("info", "--model", _dir), "config.json", "num_hidden_layers", "missing");
    }

    [Fact]
    public void UnsupportedTokenizerModel()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("tokenizer.json", "\"type\": \"BPE\"", "\"type\": \"WordPiece\"");
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", _dir, "--prompt", "x"), "tokenizer.json", "model.type", "WordPiece");
    }

    [Fact]
    public void TruncatedShard()
    {
        CopyOf(TestData.TinyLlamaDir);
        var shard = Path.Combine(_dir, "model-00002-of-00003.safetensors");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..1000]);
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", _dir, "--data", TestData.WikiTestRaw), "model-00002-of-00003.safetensors");
    }

    [Fact]
    public void MissingShard()
    {
        CopyOf(TestData.TinyLlamaDir);
        File.Delete(Path.Combine(_dir, "model-00001-of-00003.safetensors"));
        CliRunner.AssertCleanFailure(CliRunner.Run("info", "--model", _dir), "model-00001-of-00003.safetensors", "missing");
    }

    [Fact]
    public void WeightShapeDisagreesWithConfig()
    {
        CopyOf(TestData.TinyLlamaDir);
        Edit("config.json", "\"intermediate_size\": 704", "\"intermediate_size\": 512");
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", _dir, "--prompt", "x"), "shape", "[704, 256]");
    }

    [Fact]
    public void MissingDataFile()
    {
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", TestData.TinyLlamaDir, "--data", Path.Combine(_dir, "none.txt")), "none.txt", "not found");
    }

    [Fact]
    public void CudaRequestedWithoutCuda()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // only meaningful on a machine without CUDA
        CliRunner.AssertCleanFailure(CliRunner.Run("generate", "--model", TestData.TinyLlamaDir, "--prompt", "x", "--device", "cuda"), "--device cuda", "CUDA is not available");
    }
}
