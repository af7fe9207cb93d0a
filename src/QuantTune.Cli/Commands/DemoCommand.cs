using System.CommandLine;
using System.Text.Json;
using QuantTune.Cli.Rendering;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary>
/// The main job on the embedded default model (tiny-llama): its info, its WikiText-2 test
/// perplexity next to the figure transformers computed, a greedy generation, LoRA vs QLoRA vs QST
/// on Tiny Shakespeare with a GGUF export, and a chat fine-tune with the same question asked
/// before and after.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var maxTokens = new Option<int>("--max-tokens") { Description = "score only the first N tokens of WikiText-2 test (0: all)", DefaultValueFactory = _ => 0 };
        var prompt = new Option<string>("--prompt") { Description = "prompt for the generation", DefaultValueFactory = _ => "The history of the" };
        var steps = new Option<int>("--steps") { Description = "fine-tuning steps per method (0: skip fine-tuning)", DefaultValueFactory = _ => 60 };
        var batch = new Option<int>("--batch") { Description = "fine-tuning batch size", DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq") { Description = "fine-tuning sequence length", DefaultValueFactory = _ => 128 };
        var chatSteps = new Option<int>("--chat-steps") { Description = "steps of the chat fine-tune on the shipped conversations (0: skip it)", DefaultValueFactory = _ => 12 };
        var output = new Option<string>("--out", "-o") { Description = "folder for the runs, comparison.md and comparison.png", DefaultValueFactory = _ => "demo-output" }.Writes(isFolder: true);
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("demo", "Run the whole pipeline on the embedded tiny-llama model (no argument needed).") { maxTokens, prompt, steps, batch, seq, chatSteps, output, threads, json };
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

            IReadOnlyList<QuantTune.Training.FineTuning.FineTuneSummary> comparison = [];
            object? exported = null;
            if (r.GetValue(steps) > 0)
            {
                var outDir = r.GetValue(output)!;
                if (!asJson) AnsiConsole.Write(new Rule($"fine-tuning on Tiny Shakespeare: LoRA vs QLoRA vs QST ({r.GetValue(steps)} steps, batch {r.GetValue(batch)} × {r.GetValue(seq)} tokens)").LeftJustified());
                comparison = DemoComparison.Run(dir, outDir, r.GetValue(steps), r.GetValue(batch), r.GetValue(seq), CliHost.Interactive(asJson));
                DemoComparison.Save(outDir, comparison, $"tiny-llama on Tiny Shakespeare (train: first 90 %, held-out: last 10 %), {r.GetValue(steps)} steps of batch {r.GetValue(batch)} × {r.GetValue(seq)} tokens, AdamW, cosine schedule, CPU ({Environment.ProcessorCount} cores).");
                if (!asJson)
                {
                    DemoComparison.Render(comparison);
                    AnsiConsole.MarkupLine($"written: {Markup.Escape(Path.Combine(outDir, "comparison.md"))}, comparison.png, and each run's metrics.jsonl and loss.png");
                }
                exported = DemoExport.Run(dir, comparison.First(c => c.Method == "qlora").ResultDirectory, outDir, r.GetValue(seq), asJson);
            }
            DemoChat.Result? chat = null;
            if (r.GetValue(chatSteps) > 0)
            {
                if (!asJson) AnsiConsole.Write(new Rule($"chat: QLoRA on the shipped conversations ({r.GetValue(chatSteps)} steps), the same question before and after").LeftJustified());
                chat = DemoChat.Run(dir, r.GetValue(output)!, r.GetValue(chatSteps), CliHost.Interactive(asJson), stream: !asJson);
            }
            if (asJson)
                JsonOutput.Write(new { model = ModelSummaryView.ToJson(summary), perplexity = EvalCommand.ToJson(ppl, pm), reference_perplexity = reference, generation = gen, fine_tuning = comparison, gguf = exported,
                    chat = chat is null ? null : new { question = chat.Question, before = chat.Before, after = chat.After, chat_template = chat.ChatTemplate, perplexity_before = chat.Training.EvalPerplexityBefore, perplexity_after = chat.Training.EvalPerplexityAfter } });
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
