namespace QuantTune.Tests.Cli;

/// <summary>
/// Every command that writes checks its --out before any work: a file where a folder goes, a folder where a file
/// goes, or a path under an existing file is a usage error naming --out, not a raw .NET message about a hidden
/// temporary file after the quantization or export has run.
/// </summary>
public sealed class CliOutputPathTests() : TempFolderTest("qt-out-")
{
    public static TheoryData<string[], bool> Writers => new()
    {
        { ["quantize", "--model", "tiny-llama", "--scheme", "nf4"], true },
        { ["gptq", "--model", "tiny-llama", "--samples", "1", "--seq", "16"], true },
        { ["merge", "--model", "tiny-llama", "--adapter", "ADAPTER"], true },
        { ["finetune", "--model", "tiny-llama", "--data", "DATA", "--steps", "1"], true },
        { ["align", "--model", "tiny-llama", "--data", "DATA", "--steps", "1"], true },
        { ["pretrain", "--size", "tiny", "--steps", "1"], true },
        { ["quant-report", "--model", "tiny-llama"], true },
        { ["export", "gguf", "--model", "tiny-llama", "--type", "q8_0"], false },
        { ["export", "gguf-adapter", "--model", "tiny-llama", "--adapter", "ADAPTER"], false },
        { ["export", "ollama", "--model", "tiny-llama"], false },
    };

    string[] Args(string[] command, string output) =>
        [.. command.Select(a => a switch { "ADAPTER" => TestData.TinyLlamaLoraDir, "DATA" => TinyShakespeare.FilePath, _ => a }), "--out", output];

    [Theory]
    [MemberData(nameof(Writers))]
    public void AnOutputThatCannotBeWrittenIsRefusedBeforeTheWork(string[] command, bool writesFolder)
    {
        var file = Path.Combine(Dir, "a-file");
        File.WriteAllText(file, "not a folder");
        var under = Path.Combine(file, writesFolder ? "out" : "out.gguf");
        var r = CliRunner.Run(Args(command, under));
        CliRunner.AssertUsageError(r, "--out " + under, $"{file} is a file, not a folder");

        var wrongKind = writesFolder ? file : Dir;
        r = CliRunner.Run(Args(command, wrongKind));
        CliRunner.AssertUsageError(r, "--out " + wrongKind, writesFolder ? "is a file; expected a folder" : "is a folder; expected the name of the file");
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Fact]
    public void AFolderThatAcceptsNoFilesOrAFileThatIsNoGgufIsRefusedBeforeTheWork()
    {
        if (OperatingSystem.IsLinux())
        {
            // /proc accepts no new files, for root too; before, quantize ran and then showed a raw message naming its temporary.
            string[] quantize = ["quantize", "--model", "tiny-llama", "--scheme", "nf4"], export = ["export", "gguf", "--model", "tiny-llama"];
            foreach (var (command, output) in new[] { (quantize, "/proc/quanttune-out"), (export, "/proc/out.gguf") })
            {
                var r = CliRunner.Run(Args(command, output));
                CliRunner.AssertUsageError(r, "--out " + output, "cannot be written: the folder /proc does not accept new files");
                Assert.DoesNotContain(".tmp", r.Stderr);
            }
        }
        // An existing file that is not a GGUF (a model's weights given by mistake) is not overwritten by a GGUF.
        var weights = Path.Combine(Dir, "model.safetensors");
        File.WriteAllText(weights, "not a GGUF");
        string[][] exports = [["export", "gguf", "--model", "tiny-llama"], ["export", "gguf-adapter", "--model", "tiny-llama", "--adapter", "ADAPTER"]];
        foreach (var command in exports)
            CliRunner.AssertCleanFailure(CliRunner.Run(Args(command, weights)), $"{weights}: already exists and is not a GGUF file");
        Assert.Equal("not a GGUF", File.ReadAllText(weights));
    }
}
