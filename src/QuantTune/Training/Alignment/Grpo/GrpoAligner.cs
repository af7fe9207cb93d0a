using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Generation;
using QuantTune.Models.Loading;
using QuantTune.Runtime;
using QuantTune.SideTuning;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;
using QuantTune.Training.FineTuning.Methods;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// One GRPO run end to end, on the fine-tuning machinery as <see cref="Aligner"/> runs preference optimisation: load
/// the model as the method loads it (NF4 for QLoRA and QST), apply the method, read the prompts, train with the
/// <see cref="Trainer"/> (its checkpoints, bit-exact resume and metrics.jsonl, each line carrying TRL's GRPO metrics),
/// each step sampling, scoring and learning from a batch of prompts (<see cref="GrpoStep"/>), then save the result as
/// the method saves it, reward.png (the reward curve) and summary.json.
/// </summary>
public static class GrpoAligner
{
    public static GrpoSummary Run(GrpoRequest a, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var r = a.Run;
        var o = a.Options;
        o.Validate();
        if (a.Rewards.Count == 0) throw new InvalidSettingException("GrpoRequest.Rewards", "none", $"GRPO needs at least one reward; the built-in ones are {Rewards.RewardRegistry.Names}");
        var method = FineTuneMethodRegistry.Get(r.Method);
        if (r.Method is not (FineTuneMethod.Lora or FineTuneMethod.Qlora or FineTuneMethod.Dora or FineTuneMethod.Qst or FineTuneMethod.Full))
            throw new InvalidSettingException("FineTuneRequest.Method", method.Name, "GRPO trains lora, qlora, dora, qst or full");
        if (r.Method == FineTuneMethod.Full && o.Beta > 0)
            throw new InvalidSettingException("FineTuneRequest.Method", "full", $"with GrpoOptions.Beta {o.Beta} the KL term needs a reference model, which full fine-tuning would need a second copy of; use an adapter (lora, qlora, dora), qst, or β 0");
        if (r.Qat is not null) throw new InvalidSettingException("FineTuneRequest.Qat", r.Qat, "quantization-aware training is not combined with GRPO");
        FineTunePrecision.Check(r);
        var device = FineTunePrecision.DeviceOf(r);
        void Phase(string what) => progress?.Report(TrainingProgress.Starting(what, r.Training.Steps));
        using var pm = FineTuneModel.Load(r, method, device, progress);

        Phase($"reading and tokenizing {r.DataFile}");
        var template = ModelChatTemplate.Load(r.ModelDirectory, r.ChatTemplate);
        var data = PromptDataset.Load(r.DataFile, pm.Tokenizer, template, o.MaxPromptLength, r.SkipBadLines);
        if (data.Prompts.Count == 0) throw new QuantTuneException($"{r.DataFile}: no usable prompt");
        var stop = EndOfTurnTokens.Find(pm.Directory, pm.Tokenizer, pm.Config.EosTokenIds, template.EosToken).ToHashSet();

        var (trainModule, forward, save) = method.Apply(r, pm, null);
        using var wrapper = ReferenceEquals(trainModule, pm.Model) ? null : trainModule;
        // The policy decodes as it trains: a QST model through its side network's caches, any other through the model's own.
        Func<IDecodingSession> decoding = trainModule is QstModel qst ? () => new QstDecoding(qst) : () => new KvCacheDecoding(pm.Model);
        var step = new GrpoStep
        {
            Policy = forward, Module = trainModule, Decoding = decoding, Stop = stop, Tokenizer = pm.Tokenizer, Prompts = data.Prompts,
            Rewards = a.Rewards, Options = o, Reference = o.Beta > 0 ? ReferenceModel.Scoring(r.Method, pm.Model, TokenLogProbs.Compute) : null,
            Device = device, PadId = Batcher.PadIdFor(pm.Tokenizer),
        };
        string title = $"GRPO with {method.Name} on {Name(r.ModelDirectory)}: G {o.NumGenerations}, β {o.Beta:G3}, lr {r.Training.LearningRate:G3}, {r.Training.Steps} steps of {r.Training.BatchSize}×{r.Training.GradientAccumulation} prompts (run {Name(r.OutputDirectory)})";
        var trainer = new Trainer
        {
            Model = trainModule,
            Forward = forward,
            Objective = step.Train,
            Data = new PromptBatchSource(data.Prompts.Count, r.Training.BatchSize, (int)r.Training.Seed),
            CreateOptimizer = parameters => FineTuner.CreateOptimizer(r, parameters),
            Options = r.Training with { EvalEvery = 0 },
            OutputDirectory = r.OutputDirectory,
            DType = TorchRuntime.Name(r.DType),
            PlotTitle = title,
        };
        var result = trainer.Run(r.Resume, progress, cancel);
        Phase("saving the result");
        var resultDir = save(r.OutputDirectory);
        var warnings = new List<string>(result.Warnings ?? []);
        try { RewardCurve.Save(Path.Combine(r.OutputDirectory, "reward.png"), result.History, title); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or IOException or UnauthorizedAccessException)
        {
            warnings.Add($"reward.png was not written ({e.GetType().Name}: {e.Message}); the rewards are in metrics.jsonl");
        }
        var rewards = result.History.Select(m => m.Metric(GrpoStep.Reward)).OfType<double>().ToList();
        int window = Math.Max(1, Math.Min(3, rewards.Count / 2));
        var lastLine = result.History.LastOrDefault();
        var lastMetrics = lastLine?.Objective?.Keys.ToDictionary(k => k, k => lastLine.Metric(k) ?? double.NaN) ?? [];
        var summary = new GrpoSummary(method.Name, o.Beta, o.NumGenerations, [.. a.Rewards.Select(w => w.Weight == 1 ? w.Label : $"{w.Weight:G}*{w.Label}")],
            o.Beta > 0 ? ReferenceModel.Describe(r.Method, true) : "none (β is 0: no KL term)", result.TrainableParameters,
            rewards.Count == 0 ? null : rewards.Take(window).Average(), rewards.Count == 0 ? null : rewards.TakeLast(window).Average(), lastMetrics,
            result.Steps, result.ResumedFrom, result.SecondsPerStep, result.Memory, r.OutputDirectory, resultDir,
            data.Prompts.Count, [.. data.Problems.Select(p => p.ToString())], TorchRuntime.Name(r.DType), TorchRuntime.Name(device), warnings, result.WasAlreadyComplete);
        IO.AtomicFile.WriteAllText(Path.Combine(r.OutputDirectory, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        return summary;
    }

    static string Name(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
}
