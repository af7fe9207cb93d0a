using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class FinetuneCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var data = new Option<string>("--data", "-d") { Description = DataHelp.Data, Required = true };
        var format = new Option<string?>("--format") { Description = DataHelp.Format };
        var evalData = new Option<string?>("--eval-data") { Description = DataHelp.EvalData };
        var epochs = new Option<int?>("--epochs") { Description = "passes over the training examples, instead of --steps: steps = ⌈N × ⌈examples / --batch⌉ / --accumulate⌉ (not with --steps)" };
        var method = new Option<string>("--method") { Description = FineTuneMethods.Names, DefaultValueFactory = _ => "lora" };
        var output = new Option<string>("--out", "-o") { Description = "run folder: checkpoint/, metrics.jsonl, loss.png, summary.json and the result", Required = true }.Writes(isFolder: true);
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 100, Description = "optimizer steps (or --epochs)" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "examples per micro-batch" };
        var accumulate = new Option<int>("--accumulate") { DefaultValueFactory = _ => 1, Description = "micro-batches per optimizer step" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-4, Description = "peak learning rate" };
        var schedule = new Option<string>("--schedule") { DefaultValueFactory = _ => "cosine", Description = "constant, linear or cosine (--method qst: constant, as the official QST run)" };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 0, Description = "warmup steps (--method qst: 3 % of the steps, as the official QST run)" };
        var maxGradNorm = new Option<double>("--max-grad-norm") { DefaultValueFactory = _ => 1.0, Description = "gradient clipping (0: off; --method qst: 0.3, as the official QST run)" };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.0, Description = "AdamW decoupled weight decay" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 42, Description = "seed of the data order, the adapter initialisation and dropout" };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 256, Description = DataHelp.Seq };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 0, Description = "evaluate held-out loss every N steps (0: at the end only)" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 0, Description = "save a resumable checkpoint every N steps" };
        var resume = new Option<bool>("--resume") { Description = "continue from the run folder's checkpoint" };
        var optimizer = new Option<string>("--optimizer") { DefaultValueFactory = _ => "adamw", Description = "adamw, adamw8bit or paged-adamw (--method qst: paged-adamw, 32-bit, as the official QST run)" };
        var rank = new Option<int>("--rank", "-r") { DefaultValueFactory = _ => 8, Description = "LoRA rank" };
        var alpha = new Option<double>("--alpha") { DefaultValueFactory = _ => 16, Description = "LoRA alpha" };
        var dropout = new Option<double>("--dropout") { DefaultValueFactory = _ => 0.05, Description = "LoRA dropout" };
        var targets = new Option<string>("--targets") { DefaultValueFactory = _ => "all-linear", Description = "LoRA targets: all-linear or a comma-separated list (q_proj,v_proj)" };
        var rslora = new Option<bool>("--rslora") { Description = "scale LoRA by alpha/√r" };
        var bottleneck = new Option<int>("--bottleneck") { DefaultValueFactory = _ => 64, Description = "adapter bottleneck size" };
        var virtualTokens = new Option<int>("--virtual-tokens") { DefaultValueFactory = _ => 20, Description = "prompt tuning: learned tokens" };
        var reduction = new Option<int>("--reduction") { DefaultValueFactory = _ => 16, Description = "QST: side network width h/r" };
        var qstBottleneck = new Option<int>("--qst-bottleneck") { DefaultValueFactory = _ => 16, Description = "QST: downsampler bottleneck" };
        var downsampler = new Option<string>("--downsampler") { DefaultValueFactory = _ => "adapter", Description = "QST: adapter, linear, lora, maxpool or avgpool" };
        var freezeMix = new Option<bool>("--freeze-mix") { Description = "QST: keep the output mix λ at its initial value, as the official code's GPU runs did (its .to() leaves λ unregistered); the paper trains it" };
        var sideDtype = Options.SideDType("QST: dtype of the side network and of the backbone states fed to it, fp32 or bf16 (as the official run; its norms stay fp32, AdamW's moments are fp32 either way)");
        var sideLayers = new Option<string?>("--side-layers") { Description = "QST: comma-separated backbone layers feeding the side network (default: all)" };
        var qat = new Option<string?>("--qat") { Description = "quantization-aware training: int4, int8, nf4, bitnet or bitnet158; with --method full the weights train through the quantizer, with lora/dora the adapter trains on the quantized base" };
        var qatActivations = new Option<int?>("--qat-activations") { Description = "with --qat int4|int8|nf4: also fake-quantize each layer's input per token to BITS bits" };
        var qatLearnableScales = new Option<bool>("--qat-learnable-scales") { Description = "with --qat int4|int8 and --method full: learn the weight scales (LSQ, one per block of 64)" };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "recompute each layer in backward instead of keeping its activations (less memory, one more forward)" };
        var chatTemplate = new Option<string?>("--chat-template") { Description = DataHelp.ChatTemplate };
        var lossOnAll = new Option<bool>("--loss-on-all") { Description = "chat data: the loss on the whole conversation instead of the assistant turns only" };
        var truncate = new Option<bool>("--truncate") { Description = "chat data: cut conversations longer than --seq (reported) instead of leaving them out (reported)" };
        var pack = new Option<bool>("--pack") { Description = "chat data: put several whole conversations in one example of up to --seq tokens" };
        var skipBad = new Option<bool>("--skip-bad-lines") { Description = "skip malformed records (each is reported) instead of stopping" };
        var dtype = Options.DType("dtype of the frozen base: fp32 or bf16 (mixed precision: trainable weights and optimizer state stay fp32; not with --method full or --qat)");
        var device = Options.Device();
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("finetune", "Fine-tune with LoRA, QLoRA, DoRA, adapters, IA3, prompt tuning, BitFit, full fine-tuning or QST.")
        {
            model, data, format, evalData, epochs, method, output, steps, batch, accumulate, lr, schedule, warmup, maxGradNorm, weightDecay, seed, seq,
            evalEvery, checkpointEvery, resume, optimizer, rank, alpha, dropout, targets, rslora, bottleneck, virtualTokens,
            reduction, qstBottleneck, downsampler, sideLayers, freezeMix, sideDtype, qat, qatActivations, qatLearnableScales, checkpointing, chatTemplate, lossOnAll, truncate, pack, skipBad, dtype, device, threads, json,
        };
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            var downsamplerName = r.GetValue(downsampler)!;
            var (computeDType, computeDevice) = Options.Runtime(r, dtype, device);
            int? epochCount = r.GetValue(epochs);
            bool Given(Option o) => r.GetResult(o) is { Implicit: false };
            var methodKind = FineTuneMethods.Parse(r.GetValue(method)!);
            // --method qst takes the official QST run's settings for what the user left unset.
            bool recipe = methodKind == FineTuneMethod.Qst;
            var fromRecipe = recipe ? new[] { (schedule as Option, "constant schedule"), (maxGradNorm, "max grad norm 0.3"), (optimizer, "paged AdamW 32-bit") }
                .Where(o => !Given(o.Item1)).Select(o => o.Item2).ToList() : [];
            if (Given(sideDtype) && methodKind != FineTuneMethod.Qst)
                throw new Diagnostics.QuantTuneException($"--side-dtype {r.GetValue(sideDtype)}: only --method qst has a side network (this run is --method {r.GetValue(method)})");
            if (epochCount is not null && r.GetResult(steps) is { Implicit: false })
                throw new Diagnostics.QuantTuneException("--steps and --epochs: give one or the other (--epochs computes the steps from the number of training examples, --batch and --accumulate)");
            var request = new FineTuneRequest
            {
                ModelDirectory = r.GetValue(model)!,
                DataFile = r.GetValue(data)!,
                Format = r.GetValue(format),
                EvalDataFile = r.GetValue(evalData),
                Epochs = epochCount,
                OutputDirectory = r.GetValue(output)!,
                Method = methodKind,
                DType = computeDType,
                Device = computeDevice,
                Training = new TrainingOptions
                {
                    Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), GradientAccumulation = r.GetValue(accumulate),
                    LearningRate = r.GetValue(lr),
                    Schedule = recipe && !Given(schedule) ? QstRecipe.Schedule : LearningRateSchedule.Parse(r.GetValue(schedule)!),
                    WarmupSteps = r.GetValue(warmup),
                    MaxGradNorm = recipe && !Given(maxGradNorm) ? QstRecipe.MaxGradNorm : r.GetValue(maxGradNorm), WeightDecay = r.GetValue(weightDecay), Seed = r.GetValue(seed),
                    EvalEvery = r.GetValue(evalEvery) > 0 ? r.GetValue(evalEvery) : epochCount is null ? r.GetValue(steps) : 0, CheckpointEvery = r.GetValue(checkpointEvery),
                },
                Optimizer = recipe && !Given(optimizer) ? QstRecipe.Optimizer : r.GetValue(optimizer)!,
                WarmupRatio = recipe && !Given(warmup) ? QstRecipe.WarmupRatio : null,
                RecipeDefaults = fromRecipe,
                SequenceLength = r.GetValue(seq),
                Resume = r.GetValue(resume),
                SkipBadLines = r.GetValue(skipBad),
                ChatTemplate = r.GetValue(chatTemplate),
                LossOnWholeConversation = r.GetValue(lossOnAll),
                TruncateLong = r.GetValue(truncate),
                Pack = r.GetValue(pack),
                GradientCheckpointing = r.GetValue(checkpointing),
                Qat = r.GetValue(qat),
                QatActivationBits = r.GetValue(qatActivations),
                QatLearnableScales = r.GetValue(qatLearnableScales),
                Rank = r.GetValue(rank), Alpha = r.GetValue(alpha), Dropout = r.GetValue(dropout), RsLora = r.GetValue(rslora),
                Targets = r.GetValue(targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Bottleneck = r.GetValue(bottleneck), VirtualTokens = r.GetValue(virtualTokens),
                Qst = new QstConfig
                {
                    Reduction = r.GetValue(reduction),
                    Bottleneck = r.GetValue(qstBottleneck),
                    Downsampler = Enum.TryParse<DownsamplerKind>(downsamplerName, true, out var d) ? d
                        : throw new Diagnostics.QuantTuneException($"--downsampler {downsamplerName}: expected adapter, linear, lora, maxpool or avgpool"),
                    Layers = r.GetValue(sideLayers) is { } s ? s.Split(',').Select(x => int.TryParse(x, out int v) ? v
                        : throw new Diagnostics.QuantTuneException($"--side-layers {s}: expected comma-separated layer numbers")).ToArray() : null,
                    FreezeMix = r.GetValue(freezeMix),
                    SideDType = QstConfig.ParseSideDType(r.GetValue(sideDtype)!),
                },
            };
            // With --epochs the steps (and --warmup against them) are checked once the data gives them; the rest now.
            (epochCount is null ? request.Training : request.Training with { Steps = Math.Max(1, request.Training.WarmupSteps) }).Validate();
            var summary = TrainingDisplay.Run($"{request.Method.ToString().ToLowerInvariant()}", CliHost.Interactive(r.GetValue(json)),
                p => FineTuner.Run(request, p, CliHost.Cancellation));
            if (r.GetValue(json)) JsonOutput.Write(summary);
            else Render(summary);
            return 0;
        });
        return cmd;
    }

    public static void Render(FineTuneSummary s)
    {
        foreach (var p in s.DataProblems) AnsiConsole.MarkupLine($"[yellow]skipped[/] {Markup.Escape(p)}");
        foreach (var d in s.DroppedRecords ?? []) AnsiConsole.MarkupLine($"[yellow]{d.Action}[/] {Markup.Escape(SettingOptions.Rewrite(d.Message))}");
        if (s.ChatTemplate is not null) AnsiConsole.MarkupLine($"chat template: {Markup.Escape(s.ChatTemplate)}");
        if (s.WasAlreadyComplete)
            AnsiConsole.MarkupLine($"[yellow]the run was already complete[/] (its checkpoint is at step {s.Steps}); nothing was trained and the result was saved from that checkpoint. To train further, resume with a larger --steps.");
        foreach (var w in s.Warnings ?? []) AnsiConsole.MarkupLine($"[yellow]warning[/] {Markup.Escape(w)}");
        var table = new Table().AddColumns("", "");
        table.AddRow("method / optimizer", $"{s.Method} / {s.Optimizer}");
        table.AddRow("base dtype / device", $"{s.DType} / {s.Device}");
        table.AddRow("trainable parameters", $"{s.TrainableParameters:N0} of {s.TotalParameters:N0} ({100.0 * s.TrainableParameters / s.TotalParameters:F3} %)");
        table.AddRow("held-out perplexity", $"{s.EvalPerplexityBefore:F3} → [bold]{s.EvalPerplexityAfter:F3}[/]");
        table.AddRow("steps", s.WasAlreadyComplete ? $"{s.Steps} (already complete)" : s.ResumedFrom > 0 ? $"{s.Steps} (resumed at {s.ResumedFrom})" : $"{s.Steps}");
        table.AddRow("examples (train / held out)", $"{s.TrainExamples:N0} / {s.EvalExamples:N0}" + (s.Epochs is int e ? $", {e} epoch{(e == 1 ? "" : "s")}" : ""));
        table.AddRow("time per step", $"{s.SecondsPerStep * 1000:F0} ms");
        table.AddRow("M1 weights", ModelSummaryView.Bytes(s.Memory.M1));
        table.AddRow("M2 optimizer + gradients", ModelSummaryView.Bytes(s.Memory.M2));
        var at = s.Memory.MeasuredStep is int n ? $"measured on step {n}" : "measured";
        table.AddRow($"M3 activations ({at})", s.Memory.M3 is long m3 ? ModelSummaryView.Bytes(m3) : "n/a");
        table.AddRow($"step peak ({at})", s.Memory.StepPeak is long pk ? ModelSummaryView.Bytes(pk) : "n/a");
        table.AddRow("result", Markup.Escape(s.ResultDirectory));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]memory: {Markup.Escape(s.Memory.Method)}[/]");
        if (s.OptimizerNote is not null) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(s.OptimizerNote)}[/]");
        AnsiConsole.MarkupLine($"metrics: {Markup.Escape(Path.Combine(s.OutputDirectory, "metrics.jsonl"))}, loss curve: {Markup.Escape(Path.Combine(s.OutputDirectory, "loss.png"))}");
    }
}
