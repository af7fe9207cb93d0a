using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Training;
using QuantTune.Training.FineTuning;
using QuantTune.Training.Pretraining;

namespace QuantTune.Cli.Commands;

public static class PretrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "llama", DefaultValueFactory = _ => "llama" };
        var size = new Option<string>("--size") { Description = "tiny (128×4), small (256×4) or base (512×8)", DefaultValueFactory = _ => "tiny" };
        var bitnet = new Option<bool>("--bitnet158") { Description = "train BitNet b1.58 (ternary weights, 8-bit activations) instead of fp32" };
        var data = new Option<string?>("--data", "-d") { Description = "training text (default: the embedded WikiText-2 train excerpt)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "folder with tokenizer.json (default: the embedded model's)" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 300, Description = "optimizer steps" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "sequences per step" };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 128, Description = "tokens per sequence" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-3, Description = "peak learning rate" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 42, Description = "seed of the initial weights, the data order and dropout" };
        var output = new Option<string>("--out", "-o") { Description = "run folder", Required = true }.Writes(isFolder: true);
        var resume = new Option<bool>("--resume") { Description = "continue from the run folder's checkpoint" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 0, Description = "save a resumable checkpoint every N steps (0: only at the end)" };
        var threads = Options.Threads();
        var json = Options.Json();
        var cmd = new Command("pretrain", "Train a small Llama-architecture model from scratch (fp32 or BitNet b1.58).")
            { arch, size, bitnet, data, tokenizer, steps, batch, seq, lr, seed, output, resume, checkpointEvery, threads, json };
        cmd.SetAction(r =>
        {
            Options.ApplyThreads(r.GetValue(threads));
            if (r.GetValue(arch) != "llama") throw new QuantTuneException($"--arch {r.GetValue(arch)}: only llama is supported");
            var outDir = r.GetValue(output)!;
            var initial = Path.Combine(outDir, "initial");
            // A save killed between its two renames left the initial model aside: it is the one to resume from.
            QuantTune.IO.AtomicDirectory.RestoreIfMissing(initial);
            if (!r.GetValue(resume) || !Directory.Exists(initial))
                InitialCheckpoint.Write(initial, ModelSize.Named(r.GetValue(size)!), r.GetValue(tokenizer) ?? Assets.DefaultModel, r.GetValue(seed));
            var request = new FineTuneRequest
            {
                ModelDirectory = initial,
                DataFile = r.GetValue(data) ?? Assets.WikiTextTrain,
                Format = "text",
                OutputDirectory = outDir,
                Method = FineTuneMethod.Full,
                Qat = r.GetValue(bitnet) ? "bitnet158" : null,
                SequenceLength = r.GetValue(seq),
                Resume = r.GetValue(resume),
                Training = new TrainingOptions
                {
                    Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), LearningRate = r.GetValue(lr), Seed = r.GetValue(seed),
                    WarmupSteps = Math.Min(r.GetValue(steps) / 10, 100), Schedule = ScheduleKind.Cosine, EvalEvery = r.GetValue(steps),
                    CheckpointEvery = r.GetValue(checkpointEvery),
                },
            };
            var summary = TrainingDisplay.Run(r.GetValue(bitnet) ? "pretrain bitnet158" : "pretrain fp32", CliHost.Interactive(r.GetValue(json)),
                p => FineTuner.Run(request, p, CliHost.Cancellation));
            if (r.GetValue(json)) JsonOutput.Write(summary);
            else FinetuneCommand.Render(summary);
            return 0;
        });
        return cmd;
    }
}
