using QuantTune.Serving;
using QuantTune.Cli.Rendering;
using QuantTune.Generation;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Spectre.Console;
using static TorchSharp.torch;

namespace QuantTune.Cli.Commands;

/// <summary>
/// The demo's chat story: a short QLoRA SFT of the embedded model on the shipped conversations
/// (assets/data/chat-sample.jsonl; the loss on the assistant turns, in the model's chat template
/// or the built-in one it falls back to), and the same held-out question asked before and after.
/// </summary>
public static class DemoChat
{
    public const string System = "You answer in one short sentence.";
    public const string Question = "What is the capital of Germany?";

    public sealed record Result(string Question, string Before, string After, string ChatTemplate, FineTuneSummary Training);

    public static Result Run(string model, string outputDirectory, int steps, bool interactive, bool stream)
    {
        var sample = Path.Combine(Assets.Root, "data", "chat-sample.jsonl");
        string Ask(string? adapter)
        {
            using var session = ModelSession.Open(model, ScalarType.Float32, CPU, adapter, null);
            var chat = ChatCommand.Open(session, model, null, System);
            if (stream) AnsiConsole.Markup($"[grey]{(adapter is null ? "before" : "after")}:[/] ");
            return ChatCommand.Reply(session, chat, Question, new SamplingOptions { MaxNewTokens = 16 }, stream);
        }
        if (stream) AnsiConsole.MarkupLine($"[grey]system:[/] {Markup.Escape(System)}  [grey]user:[/] {Markup.Escape(Question)}");
        var before = Ask(null);
        var request = new FineTuneRequest
        {
            ModelDirectory = model,
            DataFile = sample,
            OutputDirectory = Path.Combine(outputDirectory, "chat-qlora"),
            Method = FineTuneMethod.Qlora,
            SequenceLength = 96,
            EvalFraction = 0.2,
            Training = new TrainingOptions { Steps = steps, BatchSize = 4, LearningRate = 5e-3, Seed = 7, EvalEvery = steps, Schedule = ScheduleKind.Constant },
        };
        var summary = TrainingDisplay.Run("chat qlora", interactive, p => FineTuner.Run(request, p, CliHost.Cancellation));
        var after = Ask(summary.ResultDirectory);
        if (stream)
            AnsiConsole.MarkupLine($"held-out perplexity on assistant tokens {summary.EvalPerplexityBefore:F2} → [bold]{summary.EvalPerplexityAfter:F2}[/] " +
                $"({steps} steps; template: {Markup.Escape(summary.ChatTemplate ?? "the model's")}); adapter: {Markup.Escape(summary.ResultDirectory)}");
        return new Result(Question, before, after, summary.ChatTemplate ?? "", summary);
    }
}
