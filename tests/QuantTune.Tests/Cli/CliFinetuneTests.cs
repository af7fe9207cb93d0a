using System.Text.Json;

namespace QuantTune.Tests.Cli;

public sealed class CliFinetuneTests() : TempFolderTest("qt-cli-ft-")
{
    string Shakespeare()
    {
        var path = Path.Combine(Dir, "s.txt");
        TinyShakespeare.WriteSlice(path, 40_000);
        return path;
    }

    /// <summary>
    /// 600 characters of Tiny Shakespeare past the training sample, as --eval-data: the held-out perplexity before and
    /// after training is part of every run, and over the default split of the sample (10 %) it was most of a 2-step run.
    /// </summary>
    string HeldOut()
    {
        var path = Path.Combine(Dir, "held-out.txt");
        File.WriteAllText(path, TinyShakespeare.Text[40_000..40_600]);
        return path;
    }

    [Fact]
    public void QloraRunWritesAnAdapterThatEvalAndGenerateLoad()
    {
        var run = Path.Combine(Dir, "run");
        var r = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", Shakespeare(), "--eval-data", HeldOut(), "--method", "qlora", "--steps", "4",
            "--batch", "2", "--seq", "32", "--lr", "3e-3", "--out", run, "--json");
        Assert.Equal(0, r.ExitCode);
        var summary = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal("qlora", summary.GetProperty("method").GetString());
        // Each phase before the first step is shown, in order, on stderr.
        int Index(string text) { int i = r.Stderr.IndexOf(text, StringComparison.Ordinal); Assert.True(i >= 0, $"'{text}' not in:\n{r.Stderr}"); return i; }
        // Loading and quantizing are one phase: each linear layer is quantized as it is read.
        Assert.True(Index("qlora: loading") < Index("quantizing its linear layers to NF4 as they are read") && Index("as they are read") < Index("qlora: reading and tokenizing")
            && Index("reading and tokenizing") < Index("held-out perplexity before") && Index("held-out perplexity before") < Index("step 1/4"));
        var adapter = summary.GetProperty("result_directory").GetString()!;
        Assert.True(File.Exists(Path.Combine(adapter, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(run, "loss.png")));
        Assert.True(File.Exists(Path.Combine(run, "summary.json")));
        var e = CliRunner.Run("eval", "perplexity", "--model", TestData.TinyLlamaDir, "--adapter", adapter, "--data", Shakespeare(), "--max-tokens", "513", "--json");
        Assert.Equal(0, e.ExitCode);
        var g = CliRunner.Run("generate", "--model", TestData.TinyLlamaDir, "--adapter", adapter, "--prompt", "ROMEO:", "-n", "4", "--json");
        Assert.Equal(0, g.ExitCode);
        var merged = Path.Combine(Dir, "merged");
        Assert.Equal(0, CliRunner.Run("merge", "--model", TestData.TinyLlamaDir, "--adapter", adapter, "--out", merged).ExitCode);
        Assert.True(File.Exists(Path.Combine(merged, "model.safetensors")));
    }

    [Fact]
    public void QstRunSavesASideNetworkThatEvalMmluAndGenerateUse()
    {
        var run = Path.Combine(Dir, "qst");
        var r = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", Shakespeare(), "--eval-data", HeldOut(), "--method", "qst", "--steps", "3",
            "--batch", "2", "--seq", "32", "--out", run, "--json");
        Assert.Equal(0, r.ExitCode);
        var side = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("result_directory").GetString()!;
        Assert.Equal(0, CliRunner.Run("eval", "perplexity", "--model", TestData.TinyLlamaDir, "--qst", side, "--data", Shakespeare(), "--max-tokens", "257").ExitCode);
        Assert.Equal(0, CliRunner.Run("eval", "mmlu", "--model", TestData.TinyLlamaDir, "--qst", side, "--limit", "4", "--json").ExitCode);
        Assert.Equal(0, CliRunner.Run("generate", "--model", TestData.TinyLlamaDir, "--qst", side, "--prompt", "ROMEO:", "-n", "3").ExitCode);
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", TestData.TinyQwen2Dir, "--qst", side, "--data", Shakespeare()), "another base model");
    }

    [Fact]
    public void Bf16RunsRecordTheirDTypeAndTheirAdapterAndSideNetworkLoadInBf16()
    {
        var lora = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", Shakespeare(), "--eval-data", HeldOut(), "--method", "lora", "--steps", "2",
            "--batch", "2", "--seq", "32", "--dtype", "bf16", "--device", "cpu", "--out", Path.Combine(Dir, "lora"), "--json");
        Assert.Equal(0, lora.ExitCode);
        var summary = JsonDocument.Parse(lora.Stdout).RootElement;
        Assert.Equal("bf16", summary.GetProperty("dtype").GetString());
        Assert.Equal("cpu", summary.GetProperty("device").GetString());
        var adapter = summary.GetProperty("result_directory").GetString()!;
        var qst = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", Shakespeare(), "--eval-data", HeldOut(), "--method", "qst", "--steps", "2",
            "--batch", "2", "--seq", "32", "--dtype", "bf16", "--out", Path.Combine(Dir, "qst"), "--json");
        Assert.Equal(0, qst.ExitCode);
        var side = JsonDocument.Parse(qst.Stdout).RootElement.GetProperty("result_directory").GetString()!;
        var bf16Side = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", Shakespeare(), "--eval-data", HeldOut(), "--method", "qst", "--steps", "2",
            "--batch", "2", "--seq", "32", "--dtype", "bf16", "--side-dtype", "bf16", "--out", Path.Combine(Dir, "qst-bf16"), "--json");
        Assert.True(bf16Side.ExitCode == 0, bf16Side.Stderr);
        var sideBf16 = JsonDocument.Parse(bf16Side.Stdout).RootElement.GetProperty("result_directory").GetString()!;
        Assert.Contains("\"side_dtype\": \"bf16\"", File.ReadAllText(Path.Combine(sideBf16, "qst_config.json")));
        foreach (var extra in new[] { new[] { "--adapter", adapter }, ["--qst", side], ["--qst", sideBf16] })
        {
            var e = CliRunner.Run(["eval", "perplexity", "--model", TestData.TinyLlamaDir, .. extra, "--dtype", "bf16", "--data", Shakespeare(), "--max-tokens", "257", "--json"]);
            Assert.Equal(0, e.ExitCode);
            Assert.True(double.IsFinite(JsonDocument.Parse(e.Stdout).RootElement.GetProperty("perplexity").GetDouble()));
            Assert.Equal(0, CliRunner.Run(["generate", "--model", TestData.TinyLlamaDir, .. extra, "--dtype", "bf16", "--prompt", "ROMEO:", "-n", "3"]).ExitCode);
        }
    }

    [Fact]
    public void DTypesFineTuningCannotRunInAreRefused()
    {
        var data = Shakespeare();
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--dtype", "fp16", "--out", Path.Combine(Dir, "h")), "--dtype fp16", "bf16");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--dtype", "fp8", "--out", Path.Combine(Dir, "g")), "--dtype fp8");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "full", "--dtype", "bf16", "--out", Path.Combine(Dir, "f")), "--method full --dtype bf16");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--device", "tpu", "--out", Path.Combine(Dir, "d")), "--device tpu");
        Assert.False(Directory.Exists(Path.Combine(Dir, "h")));
    }

    [Fact]
    public void BrokenInstructionLineIsNamedAndCanBeSkipped()
    {
        var data = Path.Combine(Dir, "alpaca.jsonl");
        var good = "{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"hi\"}";
        File.WriteAllLines(data, [good, good, "{\"instruction\": \"broken\"", good, good, good]);
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--steps", "1", "--batch", "2", "--out", Path.Combine(Dir, "a")),
            "alpaca.jsonl", "line 3");
        var r = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--steps", "1", "--batch", "2", "--skip-bad-lines", "--out", Path.Combine(Dir, "b"), "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("line 3", JsonDocument.Parse(r.Stdout).RootElement.GetProperty("data_problems")[0].GetString());
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        var data = Shakespeare();
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "lora", "--targets", "nope_proj", "--out", Path.Combine(Dir, "t")), "nope_proj");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "sgd", "--out", Path.Combine(Dir, "m")), "--method sgd");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "qst", "--reduction", "3", "--out", Path.Combine(Dir, "q")), "--reduction 3");
        CliRunner.AssertCleanFailure(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--method", "lora", "--side-dtype", "bf16", "--out", Path.Combine(Dir, "s")), "--side-dtype bf16", "--method qst");
        CliRunner.AssertUsageError(CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--lr", "-1", "--out", Path.Combine(Dir, "l")), "--lr -1");
        CliRunner.AssertCleanFailure(CliRunner.Run("eval", "perplexity", "--model", TestData.TinyQwen2Dir, "--adapter", TestData.TinyLlamaLoraDir, "--data", data), "shape");
    }
}
