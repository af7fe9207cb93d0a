using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Training;
using QuantTune.Training.Alignment.Grpo;
using QuantTune.Training.Alignment.Grpo.Rewards;
using QuantTune.Training.FineTuning;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary><c>quanttune grpo</c>: GRPO (reinforcement learning from rewards on sampled completions), with the options of <c>align</c> where they mean the same.</summary>
public static class GrpoCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var data = new Option<string>("--data", "-d") { Description = "prompts, JSON Lines or a JSON array: {\"prompt\": string or list of messages, other fields (\"answer\") passed to the rewards}", Required = true };
        var reward = new Option<string[]>("--reward") { Description = $"a reward, [WEIGHT*]NAME[:ARG], repeatable (rewards add up): {RewardRegistry.Names}. exact-answer[:FIELD], regex:PATTERN, format:PATTERN (whole completion), length:CHARS", Required = true, AllowMultipleArgumentsPerToken = false };
        var method = new Option<string>("--method") { Description = "lora, qlora, dora, qst, or full (β 0 only: the KL term needs the frozen base)", DefaultValueFactory = _ => "lora" };
        var output = new Option<string>("--out", "-o") { Description = "run folder: checkpoint/, metrics.jsonl, loss.png, reward.png, summary.json and the result", Required = true }.Writes(isFolder: true);
        var generations = new Option<int>("--num-generations") { DefaultValueFactory = _ => 8, Description = "completions sampled per prompt, G (TRL: 8; at least 2)" };
        var maxCompletion = new Option<int>("--max-completion-length") { DefaultValueFactory = _ => 256, Description = "most tokens per completion (TRL: 256)" };
        var maxPrompt = new Option<int>("--max-prompt-length") { DefaultValueFactory = _ => 512, Description = "prompts keep their last N tokens" };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 1.0, Description = "sampling temperature (TRL: 1.0)" };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 1.0, Description = "nucleus sampling (TRL: 1.0, off)" };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => 0, Description = "top-k sampling (TRL: 0, off)" };
        var beta = new Option<double>("--beta") { DefaultValueFactory = _ => 0.0, Description = "weight of the KL to the reference (TRL: 0.0, no reference pass; DeepSeek-R1 used 0.001)" };
        var epsilon = new Option<double>("--epsilon") { DefaultValueFactory = _ => 0.2, Description = "clipping range ε of the importance ratio (TRL: 0.2)" };
        var epsilonHigh = new Option<double?>("--epsilon-high") { Description = "upper clipping range (default: --epsilon; DAPO: 0.28)" };
        var lossType = new Option<string>("--loss-type") { DefaultValueFactory = _ => "dapo", Description = "dapo (TRL's default: Σ over tokens / tokens), grpo (per-completion means) or dr_grpo (/ completions × max length)" };
        var scale = new Option<string>("--scale-rewards") { DefaultValueFactory = _ => "group", Description = "group (TRL's default), batch or none: what the centred rewards are divided by" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 2, Description = "prompts per micro-batch (each sampled --num-generations times)" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 42, Description = "seed of the prompt order, the sampling, the adapter initialisation and dropout" };
        var run = new AdapterRunOptions();
        var dtype = Options.DType("dtype of the frozen base: fp32 or bf16 (trainable weights and optimizer state stay fp32; not with --method full)");
        var device = Options.Device();
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("grpo", "GRPO as TRL computes it: sample completions per prompt, score them with rewards, learn from each completion's advantage within its group; with LoRA, QLoRA, DoRA, QST or full fine-tuning.")
        {
            model, data, reward, method, output, generations, maxCompletion, maxPrompt, temperature, topP, topK, beta, epsilon, epsilonHigh, lossType, scale,
            batch, seed, dtype, device, threads, json,
        };
        foreach (var option in run.All) cmd.Options.Add(option);
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            var (computeDType, computeDevice) = Options.Runtime(r, dtype, device);
            var rewards = r.GetValue(reward)!.Select(spec =>
            {
                try { return RewardRegistry.Parse(spec); }
                catch (Diagnostics.QuantTuneException e) { throw new Diagnostics.QuantTuneException("--reward " + e.Message["Reward ".Length..]); }
            }).ToList();
            var request = new GrpoRequest
            {
                Rewards = rewards,
                Options = new GrpoOptions
                {
                    NumGenerations = r.GetValue(generations), MaxCompletionLength = r.GetValue(maxCompletion), MaxPromptLength = r.GetValue(maxPrompt),
                    Temperature = r.GetValue(temperature), TopP = r.GetValue(topP), TopK = r.GetValue(topK), Beta = r.GetValue(beta),
                    Epsilon = r.GetValue(epsilon), EpsilonHigh = r.GetValue(epsilonHigh),
                    LossType = r.GetValue(lossType)!.Trim().ToLowerInvariant() switch
                    {
                        "dapo" or "bnpo" => GrpoLossType.Dapo, "grpo" => GrpoLossType.Grpo, "dr_grpo" or "dr-grpo" => GrpoLossType.DrGrpo,
                        var other => throw new Diagnostics.QuantTuneException($"--loss-type {other}: expected dapo, grpo or dr_grpo"),
                    },
                    ScaleRewards = r.GetValue(scale)!.Trim().ToLowerInvariant() switch
                    {
                        "group" or "true" => RewardScaling.Group, "batch" => RewardScaling.Batch, "none" or "false" => RewardScaling.None,
                        var other => throw new Diagnostics.QuantTuneException($"--scale-rewards {other}: expected group, batch or none"),
                    },
                },
                Run = run.Apply(r, new FineTuneRequest
                {
                    ModelDirectory = r.GetValue(model)!,
                    DataFile = r.GetValue(data)!,
                    OutputDirectory = r.GetValue(output)!,
                    Method = FineTuneMethods.Parse(r.GetValue(method)!),
                    DType = computeDType,
                    Device = computeDevice,
                    Training = run.Training(r, r.GetValue(batch), r.GetValue(seed)),
                }),
            };
            request.Run.Training.Validate();
            request.Options.Validate();
            var summary = TrainingDisplay.Run($"grpo {request.Run.Method.ToString().ToLowerInvariant()}", CliHost.Interactive(r.GetValue(json)),
                p => GrpoAligner.Run(request, p, CliHost.Cancellation));
            if (r.GetValue(json)) JsonOutput.Write(summary);
            else Render(summary);
            return 0;
        });
        return cmd;
    }

    public static void Render(GrpoSummary s)
    {
        foreach (var p in s.DataProblems) AnsiConsole.MarkupLine($"[yellow]skipped[/] {Markup.Escape(p)}");
        if (s.WasAlreadyComplete)
            AnsiConsole.MarkupLine($"[yellow]the run was already complete[/] (its checkpoint is at step {s.Steps}); nothing was trained. To train further, resume with a larger --steps.");
        foreach (var w in s.Warnings) AnsiConsole.MarkupLine($"[yellow]warning[/] {Markup.Escape(w)}");
        var table = new Table().AddColumns("", "");
        table.AddRow("method / G / β", $"{s.Method} / {s.NumGenerations} / {s.Beta:G3}");
        table.AddRow("rewards", Markup.Escape(string.Join(" + ", s.Rewards)));
        table.AddRow("reference model", Markup.Escape(s.Reference));
        table.AddRow("base dtype / device", $"{s.DType} / {s.Device}");
        table.AddRow("trainable parameters", $"{s.TrainableParameters:N0}");
        table.AddRow("mean reward (first → last steps)", $"{s.RewardFirst:F4} → [bold]{s.RewardLast:F4}[/]");
        foreach (var key in new[] { GrpoLoss.Kl, GrpoLoss.ClipRegion, GrpoStep.MeanLength })
            if (s.LastMetrics.TryGetValue(key, out var v)) table.AddRow($"{key} (last step)", $"{v:F4}");
        table.AddRow("steps", s.WasAlreadyComplete ? $"{s.Steps} (already complete)" : s.ResumedFrom > 0 ? $"{s.Steps} (resumed at {s.ResumedFrom})" : $"{s.Steps}");
        table.AddRow("prompts", $"{s.Prompts:N0}");
        table.AddRow("time per step", $"{s.SecondsPerStep * 1000:F0} ms");
        table.AddRow("result", Markup.Escape(s.ResultDirectory));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"metrics (TRL's reward, reward_std, kl, clip_ratio/*): {Markup.Escape(Path.Combine(s.OutputDirectory, "metrics.jsonl"))}, reward curve: {Markup.Escape(Path.Combine(s.OutputDirectory, "reward.png"))}");
    }
}
