using QuantTune.Diagnostics;

namespace QuantTune.Training.FineTuning;

/// <summary>Steps from epochs: how many optimizer steps make N passes over the training examples.</summary>
public static class FineTuneSteps
{
    /// <summary>
    /// ⌈epochs · ⌈examples / batch⌉ / accumulation⌉: each step takes <c>accumulation</c> micro-batches of
    /// <c>batch</c> examples, and an epoch is ⌈examples / batch⌉ micro-batches (the last one may be smaller).
    /// </summary>
    public static int FromEpochs(int epochs, int examples, int batchSize, int accumulation)
    {
        if (epochs < 1) throw new InvalidSettingException("FineTuneRequest.Epochs", epochs, "expected at least 1");
        if (batchSize < 1) throw new InvalidSettingException("TrainingOptions.BatchSize", batchSize, "expected at least 1");
        if (accumulation < 1) throw new InvalidSettingException("TrainingOptions.GradientAccumulation", accumulation, "expected at least 1");
        if (examples < 1) throw new InvalidSettingException("FineTuneRequest.Epochs", epochs, "there are no training examples to pass over");
        long microBatches = (long)epochs * ((examples + batchSize - 1) / batchSize);
        long steps = (microBatches + accumulation - 1) / accumulation;
        return steps <= int.MaxValue ? (int)steps
            : throw new InvalidSettingException("FineTuneRequest.Epochs", epochs, $"{steps} steps is more than one run can take; give fewer epochs");
    }

    /// <summary>
    /// The run's training options: unchanged without epochs; with them, <see cref="TrainingOptions.Steps"/>
    /// from <see cref="FromEpochs"/>, and an <see cref="TrainingOptions.EvalEvery"/> of 0 evaluating at the last step.
    /// </summary>
    public static TrainingOptions Resolve(TrainingOptions training, int? epochs, int trainExamples)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (epochs is not int e) return training;
        int steps = FromEpochs(e, trainExamples, training.BatchSize, training.GradientAccumulation);
        if (training.WarmupSteps > steps)
            throw new InvalidSettingException("TrainingOptions.WarmupSteps", training.WarmupSteps, $"FineTuneRequest.Epochs {e} makes {steps} steps ({trainExamples} examples, TrainingOptions.BatchSize {training.BatchSize}, TrainingOptions.GradientAccumulation {training.GradientAccumulation}); expected at most {steps}");
        return training with { Steps = steps, EvalEvery = training.EvalEvery > 0 ? training.EvalEvery : steps };
    }
}
