using System.Diagnostics;
using QuantTune.Diagnostics;
using QuantTune.Runtime;
using QuantTune.Training.Checkpoints;
using QuantTune.Training.Memory;
using QuantTune.Training.Metrics;
using QuantTune.Training.Optimizers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>What <see cref="Trainer.Objective"/> returns for a micro-batch: its loss, the tokens it scored, and its metrics by name.</summary>
public sealed record ObjectiveStep(double Loss, long Tokens, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Trains the parameters of a causal LM that require gradients: micro-batches accumulated into
/// optimizer steps, gradient clipping, a learning-rate schedule with warmup, evaluation and
/// checkpoints every N steps, metrics as JSONL and a loss-curve PNG in the run folder.
/// A run is repeatable: the data order depends only on seed and epoch, and the random state
/// (dropout) is reseeded from (seed, step) at every step, so a run resumed from a checkpoint
/// continues bit-exactly as the uninterrupted run would have.
/// </summary>
public sealed class Trainer
{
    public required nn.Module Model { get; init; }
    /// <summary>Token ids [B, T] → logits [B, T, V].</summary>
    public required LanguageModelForward Forward { get; init; }
    public required IBatchSource Data { get; init; }
    public required Func<IReadOnlyList<(string Name, Parameter Param)>, ITrainingOptimizer> CreateOptimizer { get; init; }
    public required TrainingOptions Options { get; init; }
    public required string OutputDirectory { get; init; }
    /// <summary>Mean loss on held-out data (nats/token), or null for none.</summary>
    public Func<double>? Evaluate { get; init; }
    /// <summary>
    /// The dtype the frozen model computes in ("fp32", "bf16"), recorded in each checkpoint: a
    /// resume with another one is refused, since it would not continue the same run.
    /// </summary>
    public string DType { get; init; } = "fp32";
    /// <summary>The loss PNG's title; by default the optimizer's name.</summary>
    public string? PlotTitle { get; init; }
    /// <summary>Held-out loss before training, drawn at step 0 of the loss PNG, when known.</summary>
    public double? InitialEvalLoss { get; init; }
    /// <summary>
    /// A loss other than next-token cross-entropy (preference optimisation): given a micro-batch on the model's device
    /// and the factor its gradient is scaled by (1 / gradient accumulation), it runs forward and backward and returns
    /// the loss, the tokens it scored and its metrics; the metrics, averaged over the micro-batches, join the step's
    /// line of metrics.jsonl. The third argument, where not null, is called once the model's forward pass holds what
    /// backward needs and before backward frees it: the step measured for memory reads its activations (M3) there.
    /// Null: the cross-entropy of <see cref="Forward"/> on the batch's labels.
    /// </summary>
    public Func<TrainingBatch, double, Action?, ObjectiveStep>? Objective { get; init; }

    public TrainingResult Run(bool resume = false, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        Options.Validate();
        Directory.CreateDirectory(OutputDirectory);
        var trainable = Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        if (trainable.Count == 0) throw new QuantTuneException("nothing to train: no parameter requires a gradient");
        // Batches go where the model is (the trainable parameters' device).
        var device = trainable[0].parameter.device;
        using var optimizer = CreateOptimizer(trainable);

        int startStep = 0, epoch = 0, batchInEpoch = 0;
        if (resume && TrainingCheckpoint.Exists(OutputDirectory))
        {
            var saved = TrainingCheckpoint.ReadState(OutputDirectory);
            if (saved.Seed != Options.Seed) throw new InvalidSettingException("TrainingOptions.Seed", Options.Seed, $"the checkpoint was made with seed {saved.Seed}; resume with the same options");
            if (saved.DTypeOrDefault != DType)
                throw new InvalidFormatException(TrainingCheckpoint.StatePathIn(OutputDirectory), nameof(TrainerState.DType),
                    $"the checkpoint was written by a {saved.DTypeOrDefault} run; this run's Trainer.DType is {DType}. Resume with Trainer.DType {saved.DTypeOrDefault}, or start a new run in another folder");
            if (saved.Step > Options.Steps)
                throw new InvalidSettingException("TrainingOptions.Steps", Options.Steps, $"the checkpoint in {TrainingCheckpoint.PathIn(OutputDirectory)} is already at step {saved.Step}; resume with TrainingOptions.Steps {saved.Step} or more");
            var optimizerState = TrainingCheckpoint.Load(OutputDirectory, trainable.Select(p => (p.name, (Tensor)p.parameter)).ToList());
            optimizer.LoadStateDict(optimizerState);
            foreach (var t in optimizerState.Values) t.Dispose();
            (startStep, epoch, batchInEpoch) = (saved.Step, saved.Epoch, saved.BatchInEpoch);
        }
        else if (resume) throw new InvalidSettingException("Trainer.Run(resume)", null, $"{TrainingCheckpoint.PathIn(OutputDirectory)} has no checkpoint");

        using var log = new MetricsLog(Path.Combine(OutputDirectory, "metrics.jsonl"), startStep);
        var batches = Data.Epoch(epoch).Skip(batchInEpoch).GetEnumerator();
        TrainingBatch NextBatch()
        {
            while (!batches.MoveNext())
            {
                epoch++;
                batchInEpoch = 0;
                batches = Data.Epoch(epoch).GetEnumerator();
            }
            batchInEpoch++;
            return batches.Current;
        }

        // Memory is measured on one step (live host allocations, or the GPU's memory on CUDA); that step is not timed.
        using var probe = new StepMemoryProbe(device);
        long weights = WeightBytes.Of(Model);
        long gradientBytes = trainable.Sum(p => p.parameter.numel() * p.parameter.ElementSize);
        long? activations = null, stepPeak = null;
        int measureAt = Math.Min(startStep + 1, Options.Steps - 1);
        var clock = Stopwatch.StartNew();
        int? measuredStep = null;
        double lastLoss = double.NaN;
        double? evalLoss = null;
        var eta = new TrainingEta(startStep, Options.Steps, Evaluate is null ? 0 : Options.EvalEvery);
        Model.train();
        for (int step = startStep; step < Options.Steps; step++)
        {
            if (cancel.IsCancellationRequested)
            {
                SaveCheckpoint(step, epoch, batchInEpoch, trainable, optimizer, lastLoss);
                cancel.ThrowIfCancellationRequested();
            }
            manual_seed(Options.Seed * 1_000_003 + step);
            double lr = Options.LearningRate * LearningRateSchedule.Factor(Options.Schedule, step, Options.Steps, Options.WarmupSteps);
            optimizer.LearningRate = lr;
            bool measure = step == measureAt && probe.Begin();
            var stepClock = Stopwatch.StartNew();
            double loss = 0;
            double? auxLoss = null;
            long tokens = 0;
            Dictionary<string, double>? objectiveMetrics = null;
            for (int micro = 0; micro < Options.GradientAccumulation; micro++)
            {
                using var scope = NewDisposeScope();
                using var batch = NextBatch().To(device);
                bool first = measure && micro == 0;
                double value;
                long labelled;
                if (Objective is not null)
                {
                    var result = Objective(batch, 1.0 / Options.GradientAccumulation, first ? () => activations = probe.Growth() : null);
                    (value, labelled) = (result.Loss, result.Tokens);
                    objectiveMetrics ??= [];
                    foreach (var (name, v) in result.Metrics)
                        objectiveMetrics[name] = objectiveMetrics.GetValueOrDefault(name) + v / Options.GradientAccumulation;
                    CheckFinite(value, step, lr);
                    loss += value / Options.GradientAccumulation;
                    tokens += labelled;
                    continue;
                }
                using var routers = Forward.AuxLoss?.Record();
                var hidden = Forward.Hidden(batch.InputIds);
                // A mixture of experts adds its load-balancing loss, times router_aux_loss_coef, as transformers does.
                var aux = routers?.Loss(batch.AttentionMask);
                double coefficient = Forward.AuxLoss?.Coefficient ?? 0;
                // The loss in chunks of positions (ChunkedLoss): the whole [B, T, vocabulary] logits never exist.
                (value, labelled) = ChunkedLoss.Backward(hidden, Forward.Head, batch.Labels, 1.0 / Options.GradientAccumulation,
                    first ? () => activations = probe.Growth() : null, auxiliary: aux is null ? null : (aux, coefficient / Options.GradientAccumulation));
                if (aux is not null)
                {
                    double a = aux.item<float>();
                    auxLoss = (auxLoss ?? 0) + a / Options.GradientAccumulation;
                    value += coefficient * a;
                }
                CheckFinite(value, step, lr);
                loss += value / Options.GradientAccumulation;
                tokens += labelled;
            }
            double gradNorm = Options.MaxGradNorm > 0
                ? GradientClipping.ClipGradNorm(trainable.Select(p => p.parameter), Options.MaxGradNorm)
                : 0;
            optimizer.Step();
            optimizer.ZeroGrad();
            if (measure) { stepPeak = weights + gradientBytes + optimizer.StateBytes + probe.End(); measuredStep = step + 1; }
            // The first step of a run warms up (allocations, optimizer state) and the measured step carries the
            // measurement; the ETA and the time per step leave them out unless no other step is timed.
            double stepElapsed = stepClock.Elapsed.TotalSeconds;
            eta.AddStep(step, stepElapsed, measured: measure);
            lastLoss = loss;
            int done = step + 1;
            evalLoss = null;
            if (Evaluate is not null && Options.EvalEvery > 0 && (done % Options.EvalEvery == 0 || done == Options.Steps))
            {
                Model.eval();
                var evalClock = Stopwatch.StartNew();
                evalLoss = Evaluate();
                eta.AddEvaluation(evalClock.Elapsed.TotalSeconds);
                Model.train();
            }
            log.Add(new StepMetrics(done, loss, lr, gradNorm, tokens, clock.Elapsed.TotalSeconds, evalLoss, auxLoss) { Objective = StepMetrics.Extra(objectiveMetrics) });
            progress?.Report(new TrainingProgress(done, Options.Steps, loss, lr, tokens / Math.Max(stepElapsed, 1e-9), evalLoss, eta.Remaining(done)) { Metrics = objectiveMetrics });
            if (Options.CheckpointEvery > 0 && done % Options.CheckpointEvery == 0 && done < Options.Steps)
                SaveCheckpoint(done, epoch, batchInEpoch, trainable, optimizer, loss);
        }
        Model.eval();
        // A resume of a run that had finished trains nothing: its checkpoint is already the final one.
        bool trained = startStep < Options.Steps;
        if (trained) SaveCheckpoint(Options.Steps, epoch, batchInEpoch, trainable, optimizer, lastLoss);
        var warnings = new List<string>();
        try { LossCurve.Save(Path.Combine(OutputDirectory, "loss.png"), log.History, PlotTitle ?? $"training loss ({optimizer.Name})", InitialEvalLoss); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or IOException or UnauthorizedAccessException)
        {
            // A missing plotting library or an unwritable PNG must not throw away a finished run.
            warnings.Add($"loss.png was not written ({e.GetType().Name}: {e.Message}); the metrics are in metrics.jsonl");
        }
        var memory = new MemoryReport(weights, gradientBytes + optimizer.StateBytes, activations, stepPeak, probe.Describe(measuredStep), measuredStep);
        double? finalEval = log.History.LastOrDefault() is { EvalLoss: double last } final && final.Step == Options.Steps ? last : null;
        return new TrainingResult(Options.Steps, startStep, log.History, memory, eta.SecondsPerStep,
            trainable.Sum(p => p.parameter.numel()), finalEval, warnings);
    }

    void CheckFinite(double value, int step, double lr)
    {
        if (!double.IsFinite(value))
            throw new TrainingDivergedException($"the loss became {value} at step {step + 1} (learning rate {lr:G3}); training stopped. " +
                (TrainingCheckpoint.Exists(OutputDirectory) ? $"The last good checkpoint is kept in {TrainingCheckpoint.PathIn(OutputDirectory)}. " : "") +
                "Lower TrainingOptions.LearningRate or TrainingOptions.MaxGradNorm.");
    }

    void SaveCheckpoint(int step, int epoch, int batchInEpoch, List<(string name, Parameter parameter)> trainable, ITrainingOptimizer optimizer, double loss)
    {
        var state = new TrainerState(step, epoch, batchInEpoch, Options.Seed, optimizer.Name, loss, DType);
        // The state dict is a fresh copy the caller owns: disposed here, not left to the finalizer
        // (a copy of the whole optimizer state per checkpoint, otherwise held until a collection).
        var optimizerState = optimizer.StateDict();
        try { TrainingCheckpoint.Save(OutputDirectory, state, trainable.Select(p => (p.name, (Tensor)p.parameter)), optimizerState); }
        finally { foreach (var t in optimizerState.Values) t.Dispose(); }
    }
}
