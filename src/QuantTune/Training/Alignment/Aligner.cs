using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Runtime;
using QuantTune.Tokenization.ChatTemplates;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning;
using QuantTune.Training.FineTuning.Methods;

namespace QuantTune.Training.Alignment;

/// <summary>
/// One preference-optimisation run end to end, on the fine-tuning machinery: load the model as the method loads it
/// (NF4 for QLoRA and QST), apply the method, read the preference data, measure the objective on held-out data,
/// train with the <see cref="Trainer"/> (its checkpoints, bit-exact resume and metrics.jsonl, where each line also
/// carries TRL's metrics), measure again, and save the result as the method saves it, with summary.json.
/// </summary>
public static class Aligner
{
    public static AlignSummary Run(AlignRequest a, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var r = a.Run;
        var objective = AlignmentObjectiveRegistry.Get(a.Objective);
        a.Options.Validate();
        a.Preference.Validate();
        var method = FineTuneMethodRegistry.Get(r.Method);
        if (r.Method is not (FineTuneMethod.Lora or FineTuneMethod.Qlora or FineTuneMethod.Dora or FineTuneMethod.Qst or FineTuneMethod.Full))
            throw new InvalidSettingException("FineTuneRequest.Method", method.Name, "preference optimisation trains lora, qlora, dora, qst or full");
        if (r.Method == FineTuneMethod.Full && objective.UsesReference)
            throw new InvalidSettingException("FineTuneRequest.Method", "full", $"with AlignRequest.Objective {objective.Name}: the objective compares with a reference model, " +
                "which full fine-tuning would need a second copy of; use an adapter (lora, qlora, dora), qst, or a reference-free objective (orpo, simpo)");
        if (r.Qat is not null) throw new InvalidSettingException("FineTuneRequest.Qat", r.Qat, "quantization-aware training is not combined with preference optimisation");
        if (!objective.Paired && r.Training.BatchSize < 2)
            throw new InvalidSettingException("TrainingOptions.BatchSize", r.Training.BatchSize, $"{objective.Name} estimates its KL term from the other completions of the batch, so a batch needs at least 2");
        FineTunePrecision.Check(r);
        var device = FineTunePrecision.DeviceOf(r);
        void Phase(string what) => progress?.Report(TrainingProgress.Starting(what, r.Training.Steps));
        using var pm = FineTuneModel.Load(r, method, device, progress);

        Phase($"reading and tokenizing {r.DataFile}");
        var template = ModelChatTemplate.Load(r.ModelDirectory, r.ChatTemplate);
        var data = PreferenceDataset.Load(r.DataFile, pm.Tokenizer, template, a.Preference, r.SkipBadLines);
        var held = r.EvalDataFile is null ? null : PreferenceDataset.Load(r.EvalDataFile, pm.Tokenizer, template, a.Preference, r.SkipBadLines);
        int padId = Batcher.PadIdFor(pm.Tokenizer);
        var (train, eval) = Split(objective, data, held, r, a.Preference, padId);

        var (trainModule, forward, save) = method.Apply(r, pm, null);
        using var wrapper = ReferenceEquals(trainModule, pm.Model) ? null : trainModule;
        var reference = objective.UsesReference ? ReferenceModel.For(r.Method, pm.Model) : null;
        var step = new PreferenceStep(objective, a.Options, forward, reference);
        PreferenceEvaluation Evaluate() => PreferenceEvaluation.Run(step, eval, device);

        Phase("held-out preference metrics before training");
        var before = Evaluate();
        PreferenceEvaluation? last = null;
        var trainer = new Trainer
        {
            Model = trainModule,
            Forward = forward,
            Objective = step.Train,
            Data = train,
            CreateOptimizer = parameters => FineTuner.CreateOptimizer(r, parameters),
            Options = r.Training,
            OutputDirectory = r.OutputDirectory,
            Evaluate = () => (last = Evaluate()).Loss,
            DType = TorchRuntime.Name(r.DType),
            PlotTitle = $"{objective.Name} with {method.Name} on {Name(r.ModelDirectory)}: β {a.Options.Beta:G3}, lr {r.Training.LearningRate:G3}, {r.Training.Steps} steps of {r.Training.BatchSize}×{r.Training.GradientAccumulation} (run {Name(r.OutputDirectory)})",
            InitialEvalLoss = before.Loss,
        };
        var result = trainer.Run(r.Resume, progress, cancel);
        Phase("saving the result");
        var resultDir = save(r.OutputDirectory);
        if (last is null || result.FinalEvalLoss is null)
        {
            Phase("held-out preference metrics after training");
            trainModule.eval();
            last = Evaluate();
        }
        var summary = new AlignSummary(objective.Name, method.Name, a.Options.Beta, ReferenceModel.Describe(r.Method, objective.UsesReference), result.TrainableParameters,
            before.Loss, last.Loss, before.Metrics, last.Metrics, result.Steps, result.ResumedFrom, result.SecondsPerStep, result.Memory, r.OutputDirectory, resultDir,
            train.Examples, eval.Examples, [.. data.Problems.Concat(held?.Problems ?? []).Select(p => p.ToString())], [.. data.Dropped],
            TorchRuntime.Name(r.DType), TorchRuntime.Name(device), result.Warnings ?? [], result.WasAlreadyComplete);
        IO.AtomicFile.WriteAllText(Path.Combine(r.OutputDirectory, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        return summary;
    }

    static string Name(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));

    /// <summary>Training and held-out batches: the held-out file, else the last <see cref="FineTuneRequest.EvalFraction"/> of the records (at least one).</summary>
    static (CountedSource Train, CountedSource Eval) Split(IAlignmentObjective objective, PreferenceDataset data, PreferenceDataset? held, FineTuneRequest r, PreferenceOptions cut, int padId)
    {
        int seed = (int)r.Training.Seed, size = r.Training.BatchSize;
        if (objective.Paired)
        {
            foreach (var set in new[] { data, held }.OfType<PreferenceDataset>())
                if (set.Unpaired.Count > 0)
                    throw new QuantTuneException($"{objective.Name} learns from pairs; the data has unpaired records ({{\"prompt\", \"completion\", \"label\"}}, first at line {set.Unpaired[0].Line}); use kto, or pairs {{\"prompt\", \"chosen\", \"rejected\"}}");
            var (train, eval) = Cut(data.Pairs, held?.Pairs, r, data);
            return (new(PreferenceBatchSource.Paired(train, size, padId, seed), train.Count), new(PreferenceBatchSource.Paired(eval, size, padId, seed, shuffle: false), eval.Count));
        }
        var (t, e) = Cut(data.AsUnpaired(), held?.AsUnpaired(), r, data);
        return (new(PreferenceBatchSource.Unpaired(t, size, padId, seed, cut), t.Count), new(PreferenceBatchSource.Unpaired(e, Math.Max(2, size), padId, seed, cut, shuffle: false), e.Count));
    }

    static (IReadOnlyList<T> Train, IReadOnlyList<T> Eval) Cut<T>(IReadOnlyList<T> all, IReadOnlyList<T>? held, FineTuneRequest r, PreferenceDataset data)
    {
        if (held is not null)
        {
            if (all.Count < 1) throw new QuantTuneException($"{r.DataFile}: no usable preference example ({data.Records} records, {data.Dropped.Count} too long)");
            if (held.Count < 1) throw new QuantTuneException($"{r.EvalDataFile}: no usable preference example");
            return (all, held.Take(r.MaxEvalExamples).ToList());
        }
        if (all.Count < 2) throw new QuantTuneException($"{r.DataFile}: {all.Count} usable preference example(s); training needs at least 2 (or held-out data in FineTuneRequest.EvalDataFile)");
        int evalCount = Math.Clamp((int)Math.Round(all.Count * r.EvalFraction), 1, all.Count - 1);
        return ([.. all.Take(all.Count - evalCount)], [.. all.Skip(all.Count - evalCount).Take(r.MaxEvalExamples)]);
    }

    /// <summary>A batch source and how many examples it holds.</summary>
    internal sealed record CountedSource(PreferenceBatchSource Source, int Examples) : IBatchSource
    {
        public int BatchesPerEpoch => Source.BatchesPerEpoch;
        public IEnumerable<TrainingBatch> Epoch(int epoch) => Source.Epoch(epoch);
    }
}
