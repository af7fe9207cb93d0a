using QuantTune.SideTuning;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning;

/// <summary>A fine-tuning run as the CLI describes it.</summary>
public sealed record FineTuneRequest
{
    public required string ModelDirectory { get; init; }
    public required string DataFile { get; init; }
    public required string OutputDirectory { get; init; }
    public FineTuneMethod Method { get; init; } = FineTuneMethod.Lora;
    public TrainingOptions Training { get; init; } = new();
    /// <summary>
    /// The dtype the frozen base is loaded and computes in: fp32 or bf16 (mixed precision: the
    /// trainable parameters and their optimizer state stay fp32, see <see cref="Peft.Common.PeftDType"/>).
    /// fp16 is refused (it would need loss scaling); so is bf16 with the full method or with <see cref="Qat"/>.
    /// </summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;
    /// <summary>Where the model and every tensor of the run live; null: CUDA when available, else the CPU.</summary>
    public Device? Device { get; init; }
    /// <summary>adamw, adamw8bit or paged-adamw.</summary>
    public string Optimizer { get; init; } = "adamw";
    /// <summary>Warmup as a fraction of the run's steps (known only once <see cref="Epochs"/> gives them); replaces <see cref="TrainingOptions.WarmupSteps"/> when set.</summary>
    public double? WarmupRatio { get; init; }
    /// <summary>The settings (besides <see cref="WarmupRatio"/>) that came from the QST recipe rather than the user, shown with the summary.</summary>
    public IReadOnlyList<string> RecipeDefaults { get; init; } = [];
    /// <summary>
    /// text, alpaca or tsv; null: from the file extension (.txt, .json/.jsonl, .tsv) and, for JSON, the first
    /// record's fields (<c>text</c> without <c>instruction</c>: text). text on a .json/.jsonl file reads its records' <c>text</c>.
    /// </summary>
    public string? Format { get; init; }
    /// <summary>Held-out data in a file of its own (same <see cref="Format"/> rules); null: split off the end of <see cref="DataFile"/>.</summary>
    public string? EvalDataFile { get; init; }
    /// <summary>
    /// Passes over the training examples, instead of <see cref="TrainingOptions.Steps"/>: see <see cref="FineTuneSteps.Resolve"/>.
    /// </summary>
    public int? Epochs { get; init; }
    public int SequenceLength { get; init; } = 256;
    /// <summary>chat data: the template (a .jinja or JSON file, a template name of the model, or zephyr/chatml); null: the model's own, else zephyr.</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>chat data: the loss on every token instead of the assistant turns only.</summary>
    public bool LossOnWholeConversation { get; init; }
    /// <summary>chat data: cut conversations longer than <see cref="SequenceLength"/> instead of leaving them out.</summary>
    public bool TruncateLong { get; init; }
    /// <summary>chat data: several whole conversations per example, up to <see cref="SequenceLength"/> tokens.</summary>
    public bool Pack { get; init; }
    public const double DefaultEvalFraction = 0.1;
    public const int DefaultMaxEvalExamples = 64;
    /// <summary>Held out off the end of <see cref="DataFile"/> without <see cref="EvalDataFile"/> (see <see cref="FineTuneData"/>).</summary>
    public double EvalFraction { get; init; } = DefaultEvalFraction;
    public int MaxEvalExamples { get; init; } = DefaultMaxEvalExamples;
    public bool SkipBadLines { get; init; }
    public bool Resume { get; init; }
    /// <summary>
    /// Quantization-aware training (<see cref="Qat.QatSpec"/>): int4, int8, nf4, bitnet or bitnet158 (null: off).
    /// With the full method the weights train through the quantizer; with lora or dora the adapter
    /// trains on the frozen base seen through it.
    /// </summary>
    public string? Qat { get; init; }
    /// <summary>Per-token fake quantization of the quantized layers' inputs to this many bits (int4, int8, nf4).</summary>
    public int? QatActivationBits { get; init; }
    /// <summary>LSQ-learned intK weight scales, one per block of 64 (int4, int8 with the full method).</summary>
    public bool QatLearnableScales { get; init; }
    /// <summary>Recompute each decoder layer in backward instead of keeping its activations.</summary>
    public bool GradientCheckpointing { get; init; }

    // LoRA / DoRA / QLoRA
    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; } = 0.05;
    public IReadOnlyList<string> Targets { get; init; } = ["all-linear"];
    public bool RsLora { get; init; }
    // bottleneck adapter, prompt tuning
    public int Bottleneck { get; init; } = 64;
    public int VirtualTokens { get; init; } = 20;
    // QST
    public QstConfig Qst { get; init; } = new();
}
