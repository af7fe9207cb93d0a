using System.Text.Json;
using QuantTune.Formats.Safetensors;

namespace QuantTune.Tests.Cli;

/// <summary>
/// A family's fixture through the commands a user runs first, each checked against the fixture's reference: info names
/// the family's differences, generate gives the reference's greedy ids, eval perplexity predicts 512 tokens, finetune
/// writes its result, merge folds a LoRA adapter in, and a QST side network generates. Each call is one quanttune process;
/// the run folders go under <c>folder</c>.
/// </summary>
/// <param name="model">The fixture folder.</param>
/// <param name="folder">The test's temporary folder.</param>
internal sealed class FamilyCommandRun(string model, string folder)
{
    string? _data, _heldOut;

    /// <summary>The fixture folder the commands run on.</summary>
    public string Model => model;

    /// <summary>The first 30,000 characters of the shipped Tiny Shakespeare, written once into the test's folder.</summary>
    public string Data => _data ??= ShakespeareSample(folder);

    /// <summary>
    /// The 600 characters after <see cref="Data"/>, the held-out data of <see cref="Finetunes"/> (--eval-data): a few
    /// examples instead of the last 10 % of <see cref="Data"/>, whose evaluation before and after training took most of a
    /// two-step run's time.
    /// </summary>
    public string HeldOut => _heldOut ??= WriteText(Path.Combine(folder, "held-out.txt"), ShakespeareText()[30_000..30_600]);

    static string ShakespeareText() => TinyShakespeare.Text;

    static string WriteText(string path, string text)
    {
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Writes the first 30,000 characters of the shipped Tiny Shakespeare into <paramref name="folder"/> and returns its path.</summary>
    public static string ShakespeareSample(string folder) => WriteText(Path.Combine(folder, "s.txt"), ShakespeareText()[..30_000]);

    /// <summary>info --json: every one of <paramref name="differences"/> is among the family_differences it lists.</summary>
    public void InfoNames(params string[] differences)
    {
        var info = CliRunner.Run("info", "--model", model, "--json");
        Assert.True(info.ExitCode == 0, info.Stderr);
        var listed = JsonDocument.Parse(info.Stdout).RootElement.GetProperty("family_differences").EnumerateArray().Select(e => e.GetString()).ToList();
        foreach (var difference in differences) Assert.Contains(difference, listed);
    }

    /// <summary>generate of the reference's prompt (24 tokens, no BOS) gives the reference's greedy ids.</summary>
    public void GeneratesTheReferenceIds()
    {
        var g = CliRunner.Run("generate", "--model", model, "--prompt", "The history of the", "-n", "24", "--no-bos", "--json");
        Assert.True(g.ExitCode == 0, g.Stderr);
        using var reference = new Models.ReferenceOutputs(model);
        Assert.Equal(reference.GreedyOutputIds, JsonDocument.Parse(g.Stdout).RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    /// <summary>eval perplexity over the first 513 tokens of wiki.test.raw predicts 512 of them, on the fixture or on <paramref name="on"/> (a merged or quantized folder).</summary>
    public void EvaluatesPerplexity(string? on = null)
    {
        var ppl = CliRunner.Run("eval", "perplexity", "--model", on ?? model, "--data", TestData.WikiTestRaw, "--max-tokens", "513", "--json");
        Assert.True(ppl.ExitCode == 0, ppl.Stderr);
        Assert.Equal(512, JsonDocument.Parse(ppl.Stdout).RootElement.GetProperty("predicted_tokens").GetInt64());
    }

    /// <summary>
    /// finetune with each of <paramref name="methods"/> (2 steps of batch 2 on <see cref="Data"/>, held out <see cref="HeldOut"/>, in the run folder
    /// <c>&lt;prefix&gt;&lt;method&gt;</c>), with <paramref name="extra"/> options; where <paramref name="auxLoss"/>, metrics.jsonl
    /// logs the load-balancing loss. Returns each method's result_directory.
    /// </summary>
    public Dictionary<string, string> Finetunes(string[] methods, int seq = 32, bool auxLoss = false, string prefix = "", params string[] extra)
    {
        var results = new Dictionary<string, string>();
        foreach (var method in methods)
        {
            var run = Path.Combine(folder, prefix + method);
            var ft = CliRunner.Run(["finetune", "--model", model, "--data", Data, "--eval-data", HeldOut, "--method", method, .. extra, "--steps", "2", "--batch", "2", "--seq", seq.ToString(), "--out", run, "--json"]);
            Assert.True(ft.ExitCode == 0, method + ": " + ft.Stderr);
            results[method] = JsonDocument.Parse(ft.Stdout).RootElement.GetProperty("result_directory").GetString()!;
            if (auxLoss) Assert.Contains("\"aux_loss\"", File.ReadAllText(Path.Combine(run, "metrics.jsonl")));
        }
        return results;
    }

    /// <summary>The LoRA adapter in <paramref name="adapter"/> holds each of <paramref name="keys"/> (PEFT's names) and none of <paramref name="absent"/>.</summary>
    public static void AdapterHolds(string adapter, string[] keys, params string[] absent)
    {
        using var file = SafetensorsFile.Open(Path.Combine(adapter, "adapter_model.safetensors"));
        foreach (var key in keys) Assert.Contains(key, file.Tensors.Keys);
        foreach (var key in absent) Assert.DoesNotContain(key, file.Tensors.Keys);
    }

    /// <summary>merge folds <paramref name="adapter"/> into the fixture (folder <paramref name="name"/>); returns the merged folder.</summary>
    public string Merges(string adapter, string name = "merged")
    {
        var merged = Path.Combine(folder, name);
        var merge = CliRunner.Run("merge", "--model", model, "--adapter", adapter, "--out", merged);
        Assert.True(merge.ExitCode == 0, merge.Stderr);
        return merged;
    }

    /// <summary>generate with the QST side network in <paramref name="side"/> runs (4 tokens after "ROMEO:").</summary>
    public void GeneratesWithQst(string side)
    {
        var g = CliRunner.Run("generate", "--model", model, "--qst", side, "--prompt", "ROMEO:", "-n", "4");
        Assert.True(g.ExitCode == 0, g.Stderr);
    }

    /// <summary>plan of the shape <paramref name="shape"/> (QLoRA unless <paramref name="method"/>, batch 1, 1024 tokens) runs.</summary>
    public static void Plans(string shape, string method = "qlora")
    {
        var plan = CliRunner.Run("plan", "--model", shape, "--method", method, "--batch", "1", "--seq", "1024", "--json");
        Assert.True(plan.ExitCode == 0, plan.Stdout + plan.Stderr);
    }
}
