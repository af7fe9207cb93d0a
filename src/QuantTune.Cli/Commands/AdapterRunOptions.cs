using System.CommandLine;
using QuantTune.SideTuning;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Cli.Commands;

/// <summary>
/// The options <c>align</c> and <c>grpo</c> share, with the same names, defaults (TRL's) and meaning: the optimizer's
/// schedule, checkpoints, the adapter's shape (LoRA rank, alpha, dropout, targets; QST's reduction and bottleneck), the
/// chat template and bad-record handling. Each command adds its own objective's options, its batch and its seed.
/// </summary>
public sealed class AdapterRunOptions
{
    readonly Option<int> _steps = new("--steps") { DefaultValueFactory = _ => 100, Description = "optimizer steps" };
    readonly Option<int> _accumulate = new("--accumulate") { DefaultValueFactory = _ => 1, Description = "micro-batches per optimizer step" };
    readonly Option<double> _lr = new("--lr") { DefaultValueFactory = _ => 1e-6, Description = "peak learning rate (TRL: 1e-6; adapters usually take 5e-6 to 5e-5)" };
    readonly Option<string> _schedule = new("--schedule") { DefaultValueFactory = _ => "linear", Description = "constant, linear (TRL's default) or cosine" };
    readonly Option<int> _warmup = new("--warmup") { DefaultValueFactory = _ => 0, Description = "warmup steps" };
    readonly Option<double> _maxGradNorm = new("--max-grad-norm") { DefaultValueFactory = _ => 1.0, Description = "gradient clipping (0: off)" };
    readonly Option<double> _weightDecay = new("--weight-decay") { DefaultValueFactory = _ => 0.0, Description = "AdamW decoupled weight decay" };
    readonly Option<int> _checkpointEvery = new("--checkpoint-every") { DefaultValueFactory = _ => 0, Description = "save a resumable checkpoint every N steps" };
    readonly Option<bool> _resume = new("--resume") { Description = "continue from the run folder's checkpoint" };
    readonly Option<string> _optimizer = new("--optimizer") { DefaultValueFactory = _ => "adamw", Description = "adamw, adamw8bit or paged-adamw" };
    readonly Option<int> _rank = new("--rank", "-r") { DefaultValueFactory = _ => 8, Description = "LoRA rank" };
    readonly Option<double> _alpha = new("--alpha") { DefaultValueFactory = _ => 16, Description = "LoRA alpha" };
    readonly Option<double> _dropout = new("--dropout") { DefaultValueFactory = _ => 0.05, Description = "LoRA dropout" };
    readonly Option<string> _targets = new("--targets") { DefaultValueFactory = _ => "all-linear", Description = "LoRA targets: all-linear or a comma-separated list (q_proj,v_proj)" };
    readonly Option<int> _reduction = new("--reduction") { DefaultValueFactory = _ => 16, Description = "QST: side network width h/r" };
    readonly Option<int> _qstBottleneck = new("--qst-bottleneck") { DefaultValueFactory = _ => 16, Description = "QST: downsampler bottleneck" };
    readonly Option<string?> _chatTemplate = new("--chat-template") { Description = DataHelp.ChatTemplate };
    readonly Option<bool> _skipBad = new("--skip-bad-lines") { Description = "skip malformed records (each is reported) instead of stopping" };

    /// <summary>Every shared option, in the order help lists them.</summary>
    public IEnumerable<Option> All =>
    [
        _steps, _accumulate, _lr, _schedule, _warmup, _maxGradNorm, _weightDecay, _checkpointEvery, _resume, _optimizer,
        _rank, _alpha, _dropout, _targets, _reduction, _qstBottleneck, _chatTemplate, _skipBad,
    ];

    /// <summary>The optimizer's settings, with the command's own batch size and seed.</summary>
    public TrainingOptions Training(ParseResult r, int batch, long seed) => new()
    {
        Steps = r.GetValue(_steps), BatchSize = batch, GradientAccumulation = r.GetValue(_accumulate), LearningRate = r.GetValue(_lr),
        Schedule = LearningRateSchedule.Parse(r.GetValue(_schedule)!), WarmupSteps = r.GetValue(_warmup), MaxGradNorm = r.GetValue(_maxGradNorm),
        WeightDecay = r.GetValue(_weightDecay), Seed = seed, CheckpointEvery = r.GetValue(_checkpointEvery),
    };

    /// <summary><paramref name="request"/> with the optimizer, resume, data handling and the adapter's shape these options give.</summary>
    public FineTuneRequest Apply(ParseResult r, FineTuneRequest request) => request with
    {
        Optimizer = r.GetValue(_optimizer)!,
        Resume = r.GetValue(_resume),
        SkipBadLines = r.GetValue(_skipBad),
        ChatTemplate = r.GetValue(_chatTemplate),
        Rank = r.GetValue(_rank), Alpha = r.GetValue(_alpha), Dropout = r.GetValue(_dropout),
        Targets = r.GetValue(_targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Qst = request.Qst with { Reduction = r.GetValue(_reduction), Bottleneck = r.GetValue(_qstBottleneck) },
    };
}
