using QuantTune.Diagnostics;
using QuantTune.Models.Loading;
using QuantTune.Models.Transformer;
using QuantTune.Peft;
using QuantTune.Peft.Common;
using QuantTune.Qat;
using QuantTune.Quantization.Layers;
using QuantTune.Quantization.Models;
using QuantTune.Runtime;
using QuantTune.SideTuning;
using QuantTune.Training.Data;
using QuantTune.Training.FineTuning.Methods;
using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning;

/// <summary>
/// One fine-tuning run end to end: load the model (quantizing the backbone to NF4 with double
/// quantization for QLoRA and QST), apply the method, load the data, measure held-out
/// perplexity, train, measure again, and save the result in the method's format
/// (PEFT adapter, QST side network, or a full checkpoint) with summary.json beside it.
/// </summary>
public static class FineTuner
{
    public const string NF4Scheme = "nf4-block64-dq";

    public static FineTuneSummary Run(FineTuneRequest r, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var method = FineTuneMethodRegistry.Get(r.Method);
        var qat = QatSpec.From(r.Qat, r.QatActivationBits, r.QatLearnableScales);
        if (qat is not null && !method.TakesQat)
            throw new InvalidSettingException("FineTuneRequest.Qat", r.Qat, $"quantization-aware training trains the full weights (FineTuneRequest.Method full) or a LoRA/DoRA adapter on the quantized base (FineTuneRequest.Method {string.Join(" or ", FineTuneMethodRegistry.All.Where(m => m.TakesQat && !m.TrainsBackbone).Select(m => m.Name))}), not FineTuneRequest.Method {method.Name}");
        if (qat is { LearnableScales: true } && !method.TrainsBackbone)
            throw new InvalidSettingException("FineTuneRequest.QatLearnableScales", null, $"the base under a {method.Name} adapter is frozen, so its scales cannot train; use FineTuneRequest.Method full");
        FineTunePrecision.Check(r);
        if (r.Epochs is int epochs && epochs < 1) throw new InvalidSettingException("FineTuneRequest.Epochs", epochs, "expected at least 1");
        var device = FineTunePrecision.DeviceOf(r);
        void Phase(string what) => progress?.Report(TrainingProgress.Starting(what, r.Training.Steps));
        using var pm = FineTuneModel.Load(r, method, device, progress);
        var model = pm.Model;
        var original = new HashSet<Parameter>(model.parameters(), ReferenceEqualityComparer.Instance);
        // A quantized layer's weight is no parameter, but counts as the parameters it holds.
        long total = model.ParameterCount() + model.modules().OfType<QuantizedLinear>().Sum(q => q.InFeatures * q.OutFeatures);
        Phase($"reading and tokenizing {r.DataFile}");
        if (r.SequenceLength > pm.Config.MaxPositionEmbeddings)
            throw new InvalidSettingException("FineTuneRequest.SequenceLength", r.SequenceLength, $"longer than the model's context ({pm.Config.MaxPositionEmbeddings} tokens, max_position_embeddings in {Path.Combine(r.ModelDirectory, "config.json")})");
        var data = FineTuneData.Load(r, pm.Tokenizer);
        var training = FineTuneSteps.Resolve(r.Training, r.Epochs, data.Train.Count);
        if (r.WarmupRatio is double ratio) training = training with { WarmupSteps = QstRecipe.WarmupSteps(ratio, training.Steps) };
        model.model.GradientCheckpointing = r.GradientCheckpointing && r.Method != FineTuneMethod.Qst; // QST's backbone runs without autograd anyway
        var routerLoss = RouterAuxLoss.For(model);
        if (model.model.GradientCheckpointing && routerLoss is not null)
            throw new InvalidSettingException("FineTuneRequest.GradientCheckpointing", null, $"the load-balancing loss of this mixture of experts (router_aux_loss_coef {routerLoss.Coefficient:G} in {Path.Combine(r.ModelDirectory, "config.json")}) " +
                "needs every router's autograd graph, which a checkpointed layer does not keep; train without gradient checkpointing, or set router_aux_loss_coef to 0 in config.json to train without that loss");
        var (trainModule, forward, save) = method.Apply(r, pm, qat);
        // A mixture of experts' load-balancing loss joins the training loss (QST: logged only, the backbone has no gradient).
        forward = forward with { AuxLoss = routerLoss };
        // A side network or a prompt wrapper lives outside the loaded model: disposed with this run, not by the finalizer.
        using var wrapper = ReferenceEquals(trainModule, model) ? null : trainModule;
        // Mixed precision: whatever the base's dtype, what trains is fp32 (so is its AdamW state); a bf16 QST side network is bf16 but for its norms.
        if (trainModule.named_parameters().FirstOrDefault(p => p.parameter.requires_grad && p.parameter.dtype != PeftDType.For(r.DType) && !(trainModule is QstModel && p.parameter.dtype == r.Qst.SideDType)) is { name: not null } odd)
            throw new InvalidOperationException($"{odd.name} trains in {odd.parameter.dtype}; expected {PeftDType.For(r.DType)} over a {TorchRuntime.Name(r.DType)} base");
        // Parameters the method added (adapters, side network, new biases) on top of the original ones.
        total += model.parameters().Concat(trainModule.parameters()).Distinct(ReferenceEqualityComparer.Instance).Cast<Parameter>()
            .Where(p => !original.Contains(p)).Sum(p => p.numel());

        var evalBatcher = new Batcher(data.Eval, r.Training.BatchSize, Batcher.PadIdFor(pm.Tokenizer), 0, shuffle: false);
        double EvalLoss() => MeanLoss(forward, evalBatcher, device);
        Phase($"held-out perplexity before training ({data.Eval.Count} examples)");
        double beforeLoss = EvalLoss();
        double before = Math.Exp(beforeLoss);

        var trainer = new Trainer
        {
            Model = trainModule,
            Forward = forward,
            Data = new BatcherSource(new Batcher(data.Train, r.Training.BatchSize, Batcher.PadIdFor(pm.Tokenizer), (int)r.Training.Seed)),
            CreateOptimizer = parameters => CreateOptimizer(r, parameters),
            Options = training,
            OutputDirectory = r.OutputDirectory,
            Evaluate = EvalLoss,
            DType = TorchRuntime.Name(r.DType),
            PlotTitle = PlotTitle(r),
            InitialEvalLoss = beforeLoss,
        };
        var result = trainer.Run(r.Resume, progress, cancel);
        // Saved first, so that nothing trained is lost whatever comes after; the trainer's
        // evaluation at the last step, when it made one, is the "after" figure.
        Phase("saving the result");
        var resultDir = save(r.OutputDirectory);
        if (result.FinalEvalLoss is null) Phase("held-out perplexity after training");
        double after = Math.Exp(result.FinalEvalLoss ?? EvalLoss());
        var paging = r.Optimizer.StartsWith("paged") && !cuda.is_available()
            ? "paged AdamW: paging has no effect on CPU (optimizer state and parameters already share host memory)" : null;
        var fromRecipe = r.RecipeDefaults.ToList();
        if (r.WarmupRatio is double wr) fromRecipe.Insert(Math.Min(1, fromRecipe.Count), $"{wr * 100:0.##} % warmup ({training.WarmupSteps} step{(training.WarmupSteps == 1 ? "" : "s")})");
        var defaults = fromRecipe.Count > 0 ? $"QST recipe defaults (the official QST run's): {string.Join(", ", fromRecipe)}" : null;
        var note = string.Join("; ", new[] { defaults, paging }.OfType<string>()) is { Length: > 0 } joined ? joined : null;
        var summary = new FineTuneSummary(method.Name, r.Optimizer, note, result.TrainableParameters, total,
            before, after, result.Steps, result.ResumedFrom, result.SecondsPerStep, result.Memory, r.OutputDirectory, resultDir,
            data.Train.Count, data.Eval.Count, data.Problems.Select(p => p.ToString()).ToList(), TorchRuntime.Name(r.DType), TorchRuntime.Name(device),
            result.Warnings ?? [], result.WasAlreadyComplete, data.Dropped, r.Epochs, data.ChatTemplate);
        IO.AtomicFile.WriteAllText(Path.Combine(r.OutputDirectory, "summary.json"),
            System.Text.Json.JsonSerializer.Serialize(summary, new System.Text.Json.JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
                NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return summary;
    }

    /// <summary>The loss PNG's title: method, model, learning rate, optimizer and run folder.</summary>
    internal static string PlotTitle(FineTuneRequest r)
    {
        static string Name(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        return $"{FineTuneMethodRegistry.Get(r.Method).Name} on {Name(r.ModelDirectory)}: lr {r.Training.LearningRate:G3}, {r.Optimizer}, " +
            $"{r.Training.Steps} steps of {r.Training.BatchSize}×{r.Training.GradientAccumulation} (run {Name(r.OutputDirectory)})";
    }

    internal static ITrainingOptimizer CreateOptimizer(FineTuneRequest r, IReadOnlyList<(string Name, Parameter Param)> parameters)
    {
        var options = new AdamWOptions(r.Training.LearningRate, WeightDecay: r.Training.WeightDecay);
        return r.Optimizer.Trim().ToLowerInvariant() switch
        {
            "adamw" => new AdamWOptimizer(parameters, options),
            "adamw8bit" or "adamw-8bit" or "adamw_8bit" => new AdamW8bitOptimizer(parameters, options),
            "paged-adamw" or "paged_adamw" or "pagedadamw" => new PagedAdamWOptimizer(parameters, options),
            _ => throw new InvalidSettingException("FineTuneRequest.Optimizer", r.Optimizer, "expected adamw, adamw8bit or paged-adamw"),
        };
    }

    /// <summary>Token-weighted mean cross-entropy over all batches (no gradient), each batch moved to <paramref name="device"/> (null: left on the CPU).</summary>
    public static double MeanLoss(LanguageModelForward forward, Batcher batches, Device? device = null)
    {
        using var _ = no_grad();
        double sum = 0;
        long tokens = 0;
        foreach (var b in batches.Batches(0))
        {
            using var scope = NewDisposeScope();
            using var batch = b;
            var (ids, labels) = device is null ? (batch.InputIds, batch.Labels) : (batch.InputIds.to(device), batch.Labels.to(device));
            sum += ChunkedLoss.Sum(forward.Hidden(ids), forward.Head, labels).Sum;
            tokens += batch.Tokens;
        }
        return tokens == 0 ? double.NaN : sum / tokens;
    }
}
