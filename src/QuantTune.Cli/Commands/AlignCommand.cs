using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.Alignment;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

/// <summary><c>quanttune align</c>: preference optimisation (DPO, IPO, ORPO, KTO, SimPO) with the options of <c>finetune</c> where they mean the same.</summary>
public static class AlignCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var data = new Option<string>("--data", "-d") { Description = "preference data, JSON Lines or a JSON array: {\"prompt\", \"chosen\", \"rejected\"} (strings, or message lists rendered with the chat template; without \"prompt\" the shared start of chosen and rejected is the prompt) or, for kto, {\"prompt\", \"completion\", \"label\"}", Required = true };
        var evalData = new Option<string?>("--eval-data") { Description = "held-out preference data (default: the last 10 % of --data)" };
        var objective = new Option<string>("--objective") { Description = AlignmentObjectiveRegistry.Names, DefaultValueFactory = _ => "dpo" };
        var method = new Option<string>("--method") { Description = "lora, qlora, dora, qst, or full (orpo and simpo only: the others need the frozen base as reference)", DefaultValueFactory = _ => "lora" };
        var output = new Option<string>("--out", "-o") { Description = "run folder: checkpoint/, metrics.jsonl, loss.png, summary.json and the result", Required = true }.Writes(isFolder: true);
        var beta = new Option<double>("--beta") { DefaultValueFactory = _ => 0.1, Description = "β: DPO/KTO's strength of the reference, IPO's τ, ORPO's λ, SimPO's reward scale (TRL: 0.1)" };
        var labelSmoothing = new Option<double>("--label-smoothing") { DefaultValueFactory = _ => 0.0, Description = "dpo, simpo: probability that a preference is flipped, in [0, 0.5) (conservative DPO)" };
        var gamma = new Option<double>("--simpo-gamma") { DefaultValueFactory = _ => 0.5, Description = "simpo: target reward margin γ (TRL: 0.5)" };
        var cpoAlpha = new Option<double>("--cpo-alpha") { DefaultValueFactory = _ => 0.0, Description = "simpo: weight of the chosen NLL added to the loss (0: SimPO as its paper; 1: TRL's CPO-SimPO)" };
        var desirable = new Option<double>("--desirable-weight") { DefaultValueFactory = _ => 1.0, Description = "kto: weight of desirable examples" };
        var undesirable = new Option<double>("--undesirable-weight") { DefaultValueFactory = _ => 1.0, Description = "kto: weight of undesirable examples" };
        var maxLength = new Option<int>("--max-length") { DefaultValueFactory = _ => 1024, Description = "tokens of prompt + completion; longer completions are cut at the end (TRL's max_length)" };
        var maxPrompt = new Option<int>("--max-prompt-length") { DefaultValueFactory = _ => 512, Description = "prompts keep their last N tokens (TRL's max_prompt_length)" };
        var maxCompletion = new Option<int?>("--max-completion-length") { Description = "completions keep their first N tokens (default: no limit of their own)" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "pairs (kto: completions) per micro-batch" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 42, Description = "seed of the data order, the adapter initialisation and dropout" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 0, Description = "evaluate the held-out loss every N steps (0: at the end only)" };
        var rslora = new Option<bool>("--rslora") { Description = "scale LoRA by alpha/√r" };
        var sideDtype = Options.SideDType("QST: dtype of the side network and of the backbone states fed to it, fp32 or bf16");
        var run = new AdapterRunOptions();
        var dtype = Options.DType("dtype of the frozen base: fp32 or bf16 (trainable weights and optimizer state stay fp32; not with --method full)");
        var device = Options.Device();
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("align", "Preference optimisation: DPO, IPO, ORPO, KTO or SimPO, as TRL computes them, with LoRA, QLoRA, DoRA, QST or full fine-tuning.")
        {
            model, data, evalData, objective, method, output, beta, labelSmoothing, gamma, cpoAlpha, desirable, undesirable, maxLength, maxPrompt, maxCompletion,
            batch, seed, evalEvery, rslora, sideDtype, dtype, device, threads, json,
        };
        foreach (var option in run.All) cmd.Options.Add(option);
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            var (computeDType, computeDevice) = Options.Runtime(r, dtype, device);
            var methodKind = FineTuneMethods.Parse(r.GetValue(method)!);
            var chosen = r.GetValue(objective)!;
            var picked = AlignmentObjectiveRegistry.All.FirstOrDefault(o => string.Equals(o.Name, chosen.Trim(), StringComparison.OrdinalIgnoreCase))
                ?? throw new Diagnostics.QuantTuneException($"--objective {chosen}: expected one of {AlignmentObjectiveRegistry.Names}");
            if (methodKind is not (FineTuneMethod.Lora or FineTuneMethod.Qlora or FineTuneMethod.Dora or FineTuneMethod.Qst or FineTuneMethod.Full))
                throw new Diagnostics.QuantTuneException($"--method {r.GetValue(method)}: preference optimisation trains lora, qlora, dora, qst or full");
            if (methodKind == FineTuneMethod.Full && picked.UsesReference)
                throw new Diagnostics.QuantTuneException($"--method full with --objective {picked.Name}: the objective compares with a reference model, which full fine-tuning would need a second copy of; use --method lora, qlora, dora or qst, or --objective orpo or simpo");
            var training = run.Training(r, r.GetValue(batch), r.GetValue(seed));
            var request = new AlignRequest
            {
                Objective = chosen,
                Options = new AlignmentOptions
                {
                    Beta = r.GetValue(beta), LabelSmoothing = r.GetValue(labelSmoothing), SimPoGamma = r.GetValue(gamma), CpoAlpha = r.GetValue(cpoAlpha),
                    DesirableWeight = r.GetValue(desirable), UndesirableWeight = r.GetValue(undesirable),
                },
                Preference = new PreferenceOptions { MaxLength = r.GetValue(maxLength), MaxPromptLength = r.GetValue(maxPrompt), MaxCompletionLength = r.GetValue(maxCompletion) },
                Run = run.Apply(r, new FineTuneRequest
                {
                    ModelDirectory = r.GetValue(model)!,
                    DataFile = r.GetValue(data)!,
                    EvalDataFile = r.GetValue(evalData),
                    OutputDirectory = r.GetValue(output)!,
                    Method = methodKind,
                    DType = computeDType,
                    Device = computeDevice,
                    Training = training with { EvalEvery = r.GetValue(evalEvery) > 0 ? r.GetValue(evalEvery) : training.Steps },
                    RsLora = r.GetValue(rslora),
                    Qst = new QstConfig { SideDType = QstConfig.ParseSideDType(r.GetValue(sideDtype)!) },
                }),
            };
            request.Run.Training.Validate();
            request.Options.Validate();
            request.Preference.Validate();
            var summary = TrainingDisplay.Run($"{request.Objective} {request.Run.Method.ToString().ToLowerInvariant()}", CliHost.Interactive(r.GetValue(json)),
                p => Aligner.Run(request, p, CliHost.Cancellation));
            if (r.GetValue(json)) JsonOutput.Write(summary);
            else Render(summary);
            return 0;
        });
        return cmd;
    }

    public static void Render(AlignSummary s)
    {
        foreach (var p in s.DataProblems) AnsiConsole.MarkupLine($"[yellow]skipped[/] {Markup.Escape(p)}");
        if (s.DroppedLines.Count > 0) AnsiConsole.MarkupLine($"[yellow]left out[/] {s.DroppedLines.Count} record(s) whose prompt filled --max-length (lines {string.Join(", ", s.DroppedLines.Take(10))}{(s.DroppedLines.Count > 10 ? ", …" : "")})");
        if (s.WasAlreadyComplete)
            AnsiConsole.MarkupLine($"[yellow]the run was already complete[/] (its checkpoint is at step {s.Steps}); nothing was trained and the result was saved from that checkpoint. To train further, resume with a larger --steps.");
        foreach (var w in s.Warnings) AnsiConsole.MarkupLine($"[yellow]warning[/] {Markup.Escape(w)}");
        var table = new Table().AddColumns("", "");
        table.AddRow("objective / method", $"{s.Objective} (β {s.Beta:G3}) / {s.Method}");
        table.AddRow("reference model", Markup.Escape(s.Reference));
        table.AddRow("base dtype / device", $"{s.DType} / {s.Device}");
        table.AddRow("trainable parameters", $"{s.TrainableParameters:N0}");
        table.AddRow("held-out loss", $"{s.EvalLossBefore:F4} → [bold]{s.EvalLossAfter:F4}[/]");
        foreach (var key in new[] { RewardMetrics.Accuracies, RewardMetrics.Margins, RewardMetrics.Chosen, RewardMetrics.Rejected })
            if (s.EvalMetricsAfter.TryGetValue(key, out var after))
                table.AddRow($"held-out {key}", $"{(s.EvalMetricsBefore.TryGetValue(key, out var before) ? before.ToString("F4") : "n/a")} → [bold]{after:F4}[/]");
        table.AddRow("steps", s.WasAlreadyComplete ? $"{s.Steps} (already complete)" : s.ResumedFrom > 0 ? $"{s.Steps} (resumed at {s.ResumedFrom})" : $"{s.Steps}");
        table.AddRow("examples (train / held out)", $"{s.TrainExamples:N0} / {s.EvalExamples:N0}");
        table.AddRow("time per step", $"{s.SecondsPerStep * 1000:F0} ms");
        var at = s.Memory.MeasuredStep is int n ? $"measured on step {n}" : "measured";
        table.AddRow($"step peak ({at})", s.Memory.StepPeak is long pk ? ModelSummaryView.Bytes(pk) : "n/a");
        table.AddRow("result", Markup.Escape(s.ResultDirectory));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"metrics (with TRL's rewards/* and logps/*): {Markup.Escape(Path.Combine(s.OutputDirectory, "metrics.jsonl"))}, loss curve: {Markup.Escape(Path.Combine(s.OutputDirectory, "loss.png"))}");
    }
}
