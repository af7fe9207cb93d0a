using System.Text.Json;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Cli;

/// <summary>What finetune says about its data: the Alpaca prompt, dropped records, text records, --eval-data and --epochs.</summary>
public sealed class CliFinetuneDataTests() : TempFolderTest("qt-cli-ftdata-")
{
    string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    static string Alpaca(string instruction, string input = "") => JsonSerializer.Serialize(new { instruction, input, output = "A short answer." });

    /// <summary>Shakespeare's paragraphs as {"text": ...} records.</summary>
    string TextRecords(int count = 40) => Write("text.jsonl", TinyShakespeare.Text
        .Split("\n\n").Where(p => p.Trim().Length > 0).Take(count).Select(p => JsonSerializer.Serialize(new { text = p })));

    string[] Run(string data, string run, params string[] extra) =>
        ["finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--seq", "64", "--batch", "4", "--out", Path.Combine(Dir, run), .. extra];

    static string Flat(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c)));

    static JsonElement Summary(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    [Fact]
    public void HelpShowsTheExactAlpacaPromptWhereTheLossIsAndHowTheHeldOutPartIsMade()
    {
        var r = CliRunner.Run("finetune", "--help");
        Assert.Equal(0, r.ExitCode);
        string help = Flat(r.Stdout); // help may wrap lines anywhere
        Assert.Contains(Flat(PromptTemplate.Alpaca.WithoutInput.Replace("\n", "\\n")), help);
        Assert.Contains(Flat(PromptTemplate.Alpaca.WithInput.Replace("\n", "\\n")), help);
        Assert.Contains(Flat("only the output and EOS tokens carry the loss"), help);
        Assert.Contains(Flat("the last 10 % of a text's tokens, or of the records"), help);
        Assert.Contains("--eval-data", help);
        Assert.Contains("--epochs", help);
    }

    [Fact]
    public void InstructionsDroppedForLengthAreCountedOnTheConsoleAndInSummaryJson()
    {
        string longer = string.Concat(Enumerable.Repeat("Repeat the word. ", 40));
        var data = Write("alpaca.jsonl", [Alpaca("Hi."), Alpaca(longer), Alpaca("Name a fruit."), Alpaca("Spell it.", "cat"), Alpaca(longer, "x"), Alpaca("Count.")]);
        var r = CliRunner.Run("finetune", "--model", TestData.TinyLlamaDir, "--data", data, "--seq", "96", "--batch", "4", "--steps", "1", "--out", Path.Combine(Dir, "run"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        string console = Flat(r.Stdout); // the console wraps long lines anywhere
        Assert.Contains(Flat("alpaca.jsonl: 2 of 6 records dropped: prompt longer than --seq 96 tokens"), console);
        Assert.Contains(Flat("(lines 2, 5)"), console);

        var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "run", "summary.json"))).RootElement.GetProperty("dropped_records")[0];
        Assert.Equal(2, saved.GetProperty("count").GetInt32());
        Assert.Equal(6, saved.GetProperty("total").GetInt32());
        Assert.Equal([2, 5], saved.GetProperty("lines").EnumerateArray().Select(l => l.GetInt32()));
        Assert.Contains("FineTuneRequest.SequenceLength 96", saved.GetProperty("reason").GetString()); // the library writes summary.json
    }

    [Fact]
    public void TextRecordsTrainOnEveryTokenAndABadLineStopsTheRunUnlessSkipped()
    {
        var summary = Summary(CliRunner.Run(Run(TextRecords(), "text", "--steps", "1", "--json")));
        Assert.True(summary.GetProperty("train_examples").GetInt32() >= 36); // 40 records, the last 4 held out, long ones in several windows
        Assert.Equal(0, summary.GetProperty("data_problems").GetArrayLength());

        var bad = Write("bad.jsonl", ["{\"text\": \"One line of text.\"}", "{\"text\": 42}", "{\"text\": \"Another line.\"}", "{\"text\": \"A third one.\"}"]);
        CliRunner.AssertCleanFailure(CliRunner.Run(Run(bad, "bad", "--steps", "1")), "bad.jsonl", "line 2", "field 'text'");
        Assert.False(Directory.Exists(Path.Combine(Dir, "bad")));
        var skipped = Summary(CliRunner.Run(Run(bad, "skipped", "--steps", "1", "--skip-bad-lines", "--json")));
        Assert.Contains("line 2: field 'text' is a JSON number", skipped.GetProperty("data_problems")[0].GetString());
    }

    [Fact]
    public void EvalDataIsHeldOutInsteadOfASplitOfTheData()
    {
        var data = Write("alpaca.jsonl", Enumerable.Range(0, 10).Select(i => Alpaca($"Question {i}?")));
        Assert.Equal(9, Summary(CliRunner.Run(Run(data, "split", "--steps", "1", "--json"))).GetProperty("train_examples").GetInt32());
        var summary = Summary(CliRunner.Run(Run(data, "held", "--steps", "1", "--eval-data", TextRecords(5), "--json")));
        Assert.Equal(10, summary.GetProperty("train_examples").GetInt32());
        Assert.True(summary.GetProperty("eval_examples").GetInt32() >= 5);
        CliRunner.AssertCleanFailure(CliRunner.Run(Run(data, "none", "--eval-data", Path.Combine(Dir, "nope.jsonl"))), "nope.jsonl", "--eval-data");
    }

    [Fact]
    public void EpochsComputeTheStepsAndAreRefusedWithSteps()
    {
        var data = Write("alpaca.jsonl", Enumerable.Range(0, 21).Select(i => Alpaca($"Question {i}?")));
        // 21 records: 19 train, 2 held out; ⌈19 / 4⌉ = 5 micro-batches an epoch; 2 epochs in steps of 2 micro-batches.
        var summary = Summary(CliRunner.Run(Run(data, "epochs", "--epochs", "2", "--accumulate", "2", "--json")));
        Assert.Equal(19, summary.GetProperty("train_examples").GetInt32());
        Assert.Equal(5, summary.GetProperty("steps").GetInt32());
        Assert.Equal(2, summary.GetProperty("epochs").GetInt32());
        Assert.Equal(5, File.ReadAllLines(Path.Combine(Dir, "epochs", "metrics.jsonl")).Length);

        CliRunner.AssertCleanFailure(CliRunner.Run(Run(data, "both", "--epochs", "2", "--steps", "10")), "--steps", "--epochs");
        var zero = CliRunner.Run(Run(data, "zero", "--epochs", "0"));
        Assert.Equal(2, zero.ExitCode); // a usage error, caught before the data is read
        Assert.Contains("error: --epochs 0: expected 1 or more", zero.Stderr);
        Assert.False(Directory.Exists(Path.Combine(Dir, "both")));
    }
}
