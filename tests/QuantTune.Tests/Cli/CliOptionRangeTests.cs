using System.CommandLine;

namespace QuantTune.Tests.Cli;

/// <summary>Each bad option value: exit 2 and a message that names the option as given; nothing ends in an internal error.</summary>
public sealed class CliOptionRangeTests() : TempFolderTest("qt-range-")
{
    public static TheoryData<string, string> BadValues => new()
    {
        { "finetune --model tiny-llama --data x.txt --out o --batch 0", "--batch 0" },
        { "finetune --model tiny-llama --data x.txt --out o --steps -4", "--steps -4" },
        { "finetune --model tiny-llama --data x.txt --out o --checkpoint-every -1", "--checkpoint-every -1" },
        { "finetune --model tiny-llama --data x.txt --out o --eval-every -2", "--eval-every -2" },
        { "finetune --model tiny-llama --data x.txt --out o --rank 0", "--rank 0" },
        { "finetune --model tiny-llama --data x.txt --out o --method qst --qst-bottleneck 0", "--qst-bottleneck 0" },
        { "finetune --model tiny-llama --data x.txt --out o --lr NaN", "--lr NaN" },
        { "finetune --model tiny-llama --data x.txt --out o --method qst --side-dtype fp16", "--side-dtype fp16" },
        { "finetune --model tiny-llama --data x.txt --out o --method qst --side-dtype int8", "--side-dtype int8" },
        { "plan --model llama-2-7b --method qst --side-dtype fp8", "--side-dtype fp8" },
        { "finetune --model tiny-llama --data x.txt --out o --dropout 1", "--dropout 1" },
        { "finetune --model tiny-llama --data x.txt --out {empty}", "--out \"\"" },
        { "generate --model tiny-llama --prompt hi --temperature NaN", "--temperature NaN" },
        { "generate --model tiny-llama --prompt hi --top-p 0", "--top-p 0" },
        { "generate --model tiny-llama --prompt hi -n 0", "-n 0" },
        { "generate --model tiny-llama --prompt hi --threads -1", "--threads -1" },
        { "eval mmlu --model tiny-llama --shots -2", "--shots -2" },
        { "eval perplexity --model tiny-llama --window 0", "--window 0" },
        { "plan --model llama-2-7b --batch 0", "--batch 0" },
        { "plan --model llama-2-7b --budget -3", "--budget -3" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void ABadValueIsAUsageErrorNamingTheOption(string line, string named)
    {
        var args = line.Split(' ').Select(a => a == "{empty}" ? "" : a).ToArray();
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"error: {named}: expected", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    [Theory]
    [InlineData("generate --model tiny-llama --prompt hi -n 5000", "--max-new-tokens 5000")]
    [InlineData("eval perplexity --model tiny-llama --window 4096 --data {data}", "--window 4096")]
    public void AValueBeyondTheModelsContextIsRefusedBeforeTheWork(string line, string named)
    {
        var data = Path.Combine(Dir, "d.txt");
        File.WriteAllText(data, "Some text to evaluate.");
        var r = CliRunner.Run(line.Split(' ').Select(a => a == "{data}" ? data : a).ToArray());
        CliRunner.AssertCleanFailure(r, named, "context", "1024");
    }

    [Fact]
    public void EveryOptionOfEveryCommandHasHelpText()
    {
        var root = QuantTune.Cli.ProgramCommands.Create();
        var missing = new List<string>();
        void Walk(Command c, string path)
        {
            foreach (var o in c.Options.Where(o => !o.Hidden && o.Name is not ("--help" or "--version")))
                if (string.IsNullOrWhiteSpace(o.Description)) missing.Add($"{path} {o.Name}");
            foreach (var s in c.Subcommands) Walk(s, $"{path} {s.Name}");
        }
        Walk(root, "quanttune");
        Assert.True(missing.Count == 0, "options without help text:\n" + string.Join("\n", missing));
    }
}
