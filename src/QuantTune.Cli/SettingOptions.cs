using System.Text.RegularExpressions;
using QuantTune.Diagnostics;

namespace QuantTune.Cli;

/// <summary>
/// The library's settings (<see cref="InvalidSettingException.Setting"/>: <c>Type.Property</c> or
/// <c>Type.Method(parameter)</c>) by the command-line option that sets them, in one table, so that
/// a library error reads as the option the user typed: <c>IntegerScheme.Bits = 9: …</c> becomes
/// <c>--bits 9: …</c>, and a setting named inside a message becomes its option too.
/// </summary>
public static partial class SettingOptions
{
    /// <summary>Setting → option. A setting no option reaches (a library-only knob) is left out and keeps its name.</summary>
    public static readonly IReadOnlyDictionary<string, string> Table = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // quantize
        ["SchemeOptions.Scheme"] = "--scheme", ["SchemeOptions.Block"] = "--block", ["SchemeOptions.DoubleQuant"] = "--double-quant",
        ["SchemeOptions.ClipMethod"] = "--clip-method", ["SchemeOptions.Granularity"] = "--granularity", ["SchemeOptions.ZeroPoint"] = "--zero-point",
        ["IntegerScheme.Bits"] = "--bits", ["IntegerScheme.BlockSize"] = "--block", ["IntegerScheme.Granularity"] = "--granularity",
        ["FourBitQuantizer.BlockSize"] = "--block",
        // gptq
        ["GptqSettings.Bits"] = "--bits", ["GptqSettings.GroupSize"] = "--group", ["GptqSettings.Damp"] = "--damp",
        ["CalibrationWindows.Sample(count)"] = "--samples", ["CalibrationWindows.Sample(length)"] = "--seq",
        // eval
        ["PerplexityEvaluator.Evaluate(window)"] = "--window", ["PerplexityEvaluator.Evaluate(stride)"] = "--stride",
        ["MmluEvaluator.Select(limitPerSubject)"] = "--limit", ["MmluEvaluator.Select(subjects)"] = "--subjects",
        // every command that loads a model
        ["TorchRuntime.ParseDType(name)"] = "--dtype", ["TorchRuntime.ParseDevice(name)"] = "--device",
        ["ModelChatTemplate.Load(choice)"] = "--chat-template",
        // finetune, align, pretrain
        ["TrainingOptions.Steps"] = "--steps", ["TrainingOptions.BatchSize"] = "--batch", ["TrainingOptions.GradientAccumulation"] = "--accumulate",
        ["TrainingOptions.LearningRate"] = "--lr", ["TrainingOptions.WarmupSteps"] = "--warmup", ["TrainingOptions.MaxGradNorm"] = "--max-grad-norm",
        ["TrainingOptions.Schedule"] = "--schedule", ["TrainingOptions.Seed"] = "--seed",
        ["Trainer.Run(resume)"] = "--resume", ["Trainer.DType"] = "--dtype",
        ["FineTuneRequest.Method"] = "--method", ["FineTuneRequest.DType"] = "--dtype", ["FineTuneRequest.Optimizer"] = "--optimizer",
        ["FineTuneRequest.Epochs"] = "--epochs", ["FineTuneRequest.SequenceLength"] = "--seq", ["FineTuneRequest.Format"] = "--format",
        ["FineTuneRequest.DataFile"] = "--data", ["FineTuneRequest.EvalDataFile"] = "--eval-data", ["FineTuneRequest.TruncateLong"] = "--truncate",
        ["FineTuneRequest.GradientCheckpointing"] = "--gradient-checkpointing",
        ["FineTuneRequest.Qat"] = "--qat", ["FineTuneRequest.QatActivationBits"] = "--qat-activations", ["FineTuneRequest.QatLearnableScales"] = "--qat-learnable-scales",
        ["QatSpec.Kind"] = "--qat", ["QatSpec.ActivationBits"] = "--qat-activations", ["QatSpec.LearnableScales"] = "--qat-learnable-scales",
        ["QstConfig.Reduction"] = "--reduction", ["QstConfig.Bottleneck"] = "--qst-bottleneck", ["QstConfig.SideDType"] = "--side-dtype",
        ["QstConfig.Layers"] = "--side-layers",
        ["ModelSize.Named(size)"] = "--size",
        // align
        ["AlignRequest.Objective"] = "--objective", ["AlignmentOptions.Beta"] = "--beta", ["AlignmentOptions.LabelSmoothing"] = "--label-smoothing",
        ["AlignmentOptions.SimPoGamma"] = "--simpo-gamma", ["AlignmentOptions.CpoAlpha"] = "--cpo-alpha",
        ["AlignmentOptions.DesirableWeight"] = "--desirable-weight", ["AlignmentOptions.UndesirableWeight"] = "--undesirable-weight",
        ["PreferenceOptions.MaxLength"] = "--max-length", ["PreferenceOptions.MaxPromptLength"] = "--max-prompt-length",
        ["PreferenceOptions.MaxCompletionLength"] = "--max-completion-length",
        // grpo
        ["GrpoRequest.Rewards"] = "--reward",
        ["GrpoOptions.NumGenerations"] = "--num-generations", ["GrpoOptions.MaxCompletionLength"] = "--max-completion-length",
        ["GrpoOptions.MaxPromptLength"] = "--max-prompt-length", ["GrpoOptions.Temperature"] = "--temperature", ["GrpoOptions.TopP"] = "--top-p",
        ["GrpoOptions.TopK"] = "--top-k", ["GrpoOptions.Beta"] = "--beta", ["GrpoOptions.Epsilon"] = "--epsilon", ["GrpoOptions.EpsilonHigh"] = "--epsilon-high",
        // plan
        ["PlanRequest.Method"] = "--method", ["PlanRequest.Batch"] = "--batch", ["PlanRequest.Sequence"] = "--seq",
        ["PlanRequest.LoraRank"] = "--rank", ["PlanRequest.Optimizer"] = "--optimizer",
        // export
        ["LlamaCppPreTokenizer.Choose(requested)"] = "--gguf-pre",
        ["OllamaExport.Options.TemplateFile"] = "--template-file", ["OllamaExport.Options.Stops"] = "--stop", ["OllamaExport.Options.ChatTemplate"] = "--model",
    };

    /// <summary>
    /// The message of <paramref name="e"/> as the command line shows it: an invalid setting's name
    /// replaced by its option (<c>--bits 9: …</c>), and every setting named in the text by its option.
    /// </summary>
    public static string Describe(QuantTuneException e)
    {
        if (e is InvalidSettingException s && Table.TryGetValue(s.Setting, out var option))
            return (s.Value is null ? option : $"{option} {(s.Value.Length == 0 ? "\"\"" : s.Value)}") + ": " + Rewrite(s.Problem);
        return Rewrite(e.Message);
    }

    /// <summary><paramref name="text"/> with every setting of the table replaced by its option.</summary>
    public static string Rewrite(string text) =>
        text.Contains('.', StringComparison.Ordinal) ? SettingName().Replace(text, m => Table.TryGetValue(m.Value, out var o) ? o : m.Value) : text;

    /// <summary>A <c>Type.Property</c>, <c>Type.Nested.Property</c> or <c>Type.Method(parameter)</c> name.</summary>
    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)+(?:\([a-z][A-Za-z0-9]*\))?")]
    private static partial Regex SettingName();
}
