using System.CommandLine;
using System.Text.Json;
using QuantTune.Cli.Rendering;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary>
/// The main job on the embedded default model (tiny-llama): its info, its WikiText-2 test
/// perplexity next to the figure transformers computed, and a greedy generation.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var maxTokens = new Option<int>("--max-tokens") { Description = "score only the first N tokens of WikiText-2 test (0: all)", DefaultValueFactory = _ => 0 };
        var prompt = new Option<string>("--prompt") { Description = "prompt for the generation", DefaultValueFactory = _ => "The history of the" };
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("demo", "Run the whole pipeline on the embedded tiny-llama model (no argument needed).") { maxTokens, prompt, threads, json };
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            bool asJson = r.GetValue(json);
            var dir = Assets.DefaultModel;
            var summary = ModelInspector.Inspect(dir);
            if (!asJson)
            {
                AnsiConsole.Write(new Rule("[bold]QuantTune demo[/]: the embedded tiny-llama").LeftJustified());
                ModelSummaryView.Render(summary);
            }
            using var pm = PretrainedModel.Load(dir);
            var reference = ReadReferencePerplexity(Path.Combine(dir, "reference.json"));

            if (!asJson) AnsiConsole.Write(new Rule("perplexity on WikiText-2 test (256-token windows, no BOS)").LeftJustified());
            var ppl = EvalCommand.Perplexity(pm, Assets.WikiTextTest, 256, 256, 4, r.GetValue(maxTokens), bos: false, CliHost.Interactive(asJson));
            if (!asJson)
            {
                EvalCommand.Render(ppl);
                if (reference is double refPpl && r.GetValue(maxTokens) == 0)
                    AnsiConsole.MarkupLine($"transformers (fp32) reference: [bold]{refPpl:F4}[/]; QuantTune: [bold]{ppl.Perplexity:F4}[/] (difference {Math.Abs(ppl.Perplexity - refPpl) / refPpl:P4})");
                AnsiConsole.Write(new Rule($"greedy generation").LeftJustified());
            }
            var gen = GenerateCommand.Run(pm, r.GetValue(prompt)!, addSpecialTokens: false, new SamplingOptions { MaxNewTokens = 24 }, stream: !asJson);
            if (asJson)
                JsonOutput.Write(new { model = ModelSummaryView.ToJson(summary), perplexity = EvalCommand.ToJson(ppl, pm), reference_perplexity = reference, generation = gen });
            return 0;
        });
        return cmd;
    }

    static double? ReadReferencePerplexity(string path)
    {
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.TryGetProperty("perplexity", out var p) && p.TryGetProperty("value", out var v) ? v.GetDouble() : null;
    }
}
