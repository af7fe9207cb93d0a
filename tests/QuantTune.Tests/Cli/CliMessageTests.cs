namespace QuantTune.Tests.Cli;

/// <summary>Messages a new user meets: a GGUF where a folder is read, a side network given to merge, a PEFT/TRL option name.</summary>
public sealed class CliMessageTests() : TempFolderTest("qt-msg-")
{
    string Gguf()
    {
        var path = Path.Combine(Dir, "model.gguf");
        if (!File.Exists(path)) File.WriteAllBytes(path, [.. "GGUF"u8, 3, 0, 0, 0, 0, 0, 0, 0]);
        return path;
    }

    public static TheoryData<string[]> FolderCommands => new()
    {
        new[] { "quantize", "--model", "{gguf}", "--scheme", "int8", "--out", "{dir}/q" },
        new[] { "gptq", "--model", "{gguf}", "--out", "{dir}/g" },
        new[] { "merge", "--model", "{gguf}", "--adapter", "{dir}", "--out", "{dir}/m" },
        new[] { "merge", "--model", "{model}", "--adapter", "{gguf}", "--out", "{dir}/m" },
        new[] { "export", "gguf", "--model", "{gguf}", "--out", "{dir}/x.gguf" },
        new[] { "export", "gguf-adapter", "--model", "{model}", "--adapter", "{gguf}", "--out", "{dir}/a.gguf" },
        new[] { "quant-report", "--model", "{gguf}" },
        new[] { "plan", "--model", "{gguf}" },
        new[] { "eval", "perplexity", "--model", "{model}", "--qst", "{gguf}" },
    };

    [Theory]
    [MemberData(nameof(FolderCommands))]
    public void AGgufWhereAFolderIsReadIsNamedAsSuch(string[] template)
    {
        var args = template.Select(a => a.Replace("{gguf}", Gguf()).Replace("{dir}", Dir).Replace("{model}", TestData.TinyLlamaDir)).ToArray();
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{Gguf()}: is a GGUF file", r.Stderr);
        Assert.DoesNotContain("not valid JSON", r.Stderr);
        Assert.DoesNotContain("model.gguf/", r.Stderr);
    }

    [Fact]
    public void MergingASideNetworkSaysWhyItCannotBe()
    {
        var side = Path.Combine(Dir, "side");
        Directory.CreateDirectory(side);
        File.WriteAllText(Path.Combine(side, "qst_config.json"), "{}");
        var r = CliRunner.Run("merge", "--model", TestData.TinyLlamaDir, "--adapter", side, "--out", Path.Combine(Dir, "m"));
        CliRunner.AssertCleanFailure(r, "QST side network", "--qst");
    }

    [Theory]
    [InlineData("--lora-r", "--rank")]
    [InlineData("--learning-rate", "--lr")]
    [InlineData("--output_dir", "--out")]
    [InlineData("--rnak", "--rank")]
    [InlineData("--gradient-accumulation-steps", "--accumulate")]
    public void AnOptionFromAnotherToolSuggestsOurs(string theirs, string ours)
    {
        var r = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", "x.txt", theirs, "4", "--out", Path.Combine(Dir, "o"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{theirs}: 'finetune' has no such option; did you mean {ours}?", r.Stderr);
        Assert.DoesNotContain("'4'", r.Stderr);
    }
}

/// <summary>The embedded model by name, as a user of the installed tool gives it.</summary>
public sealed class CliModelAliasTests() : TempFolderTest("qt-alias-")
{
    [Fact]
    public void TinyLlamaNamesTheEmbeddedModel()
    {
        var info = CliRunner.Run("info", "--model", "tiny-llama", "--json");
        Assert.Equal(0, info.ExitCode);
        Assert.Contains(Path.Combine("assets", "models", "tiny-llama"), info.Stdout);
        var plan = CliRunner.Run("plan", "--model", "tiny-llama", "--method", "qst", "--json");
        Assert.Equal(0, plan.ExitCode);
    }
}
