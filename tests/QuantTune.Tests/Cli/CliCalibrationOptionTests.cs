using System.Text.Json;

namespace QuantTune.Tests.Cli;

/// <summary>quantize --clip-method (a clipping method) and gptq/quant-report --calibration-data (a data file): names that do not clash.</summary>
public sealed class CliCalibrationOptionTests() : TempFolderTest("qt-cli-calib-")
{
    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    string[] Gptq(string run, params string[] extra) => ["gptq", "--model", TestData.TinyLlamaDir, "--samples", "2", "--seq", "32", "--out", Path.Combine(Dir, run), .. extra];

    [Fact]
    public void GptqReadsTheTextOfJsonRecordsAndNamesABadRecord()
    {
        string prose = File.ReadAllText(TestData.WikiTestRaw)[..4000];
        var good = Write("calibration.jsonl", JsonSerializer.Serialize(new { text = prose }),
            JsonSerializer.Serialize(new { instruction = "Summarise.", input = prose[..500], output = "A summary." }));
        var q = CliRunner.Run(Gptq("good", "--calibration-data", good, "--json"));
        Assert.True(q.ExitCode == 0, q.Stderr);
        Assert.Equal(2, JsonDocument.Parse(q.Stdout).RootElement.GetProperty("samples").GetInt32());

        // Tokenized as raw text, braces and all, this file used to calibrate without a complaint; its records are now read and the bad one named.
        var bad = Write("bad.jsonl", JsonSerializer.Serialize(new { text = prose }), "{\"txt\": \"a typo in the field name\"}");
        CliRunner.AssertCleanFailure(CliRunner.Run(Gptq("bad", "--calibration-data", bad)), "bad.jsonl", "line 2", "field 'text'");
        Assert.False(Directory.Exists(Path.Combine(Dir, "bad")));
    }

    [Fact]
    public void HelpListsTheNewNamesAndTheOldOnesStillWorkWithAWarning()
    {
        var quantizeHelp = CliRunner.Run("quantize", "--help").Stdout;
        Assert.Contains("--clip-method", quantizeHelp);
        Assert.DoesNotContain("--calibration", quantizeHelp);
        var gptqHelp = CliRunner.Run("gptq", "--help").Stdout;
        Assert.Contains("--calibration-data", gptqHelp);
        Assert.DoesNotContain("--calibration ", gptqHelp);
        Assert.Contains("--calibration-data", CliRunner.Run("quant-report", "--help").Stdout);

        var q = CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int4", "--calibration", "mse", "--out", Path.Combine(Dir, "q"), "--json");
        Assert.True(q.ExitCode == 0, q.Stderr);
        Assert.Equal("int4-absmax-channel-clip-mse", JsonDocument.Parse(q.Stdout).RootElement.GetProperty("scheme").GetString());
        Assert.Contains("--calibration is now --clip-method", q.Stderr);
        var g = CliRunner.Run(Gptq("g", "--calibration", TestData.WikiTestRaw, "--json"));
        Assert.True(g.ExitCode == 0, g.Stderr);
        Assert.Contains("--calibration is now --calibration-data", g.Stderr);

        CliRunner.AssertCleanFailure(CliRunner.Run("quantize", "--model", TestData.TinyLlamaDir, "--scheme", "int4", "--calibration", "mse", "--clip-method", "kl",
            "--out", Path.Combine(Dir, "both")), "--calibration", "--clip-method");
        CliRunner.AssertCleanFailure(CliRunner.Run(Gptq("both", "--calibration", TestData.WikiTestRaw, "--calibration-data", TestData.WikiTestRaw)), "--calibration", "--calibration-data");
        Assert.False(Directory.Exists(Path.Combine(Dir, "both")));
    }
}
