using QuantTune.Diagnostics;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// AdamW hyperparameters, PyTorch's defaults. <paramref name="Lr"/> is only the starting value:
/// the trainer's scheduler overwrites <see cref="ITrainingOptimizer.LearningRate"/> every step.
/// <paramref name="WeightDecay"/> is decoupled (p ← p·(1 − lr·wd)), not an L2 term in the gradient.
/// </summary>
public sealed record AdamWOptions(double Lr, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0.0)
{
    /// <summary>Throws <see cref="QuantTuneException"/> for values PyTorch's AdamW rejects.</summary>
    public void Validate()
    {
        if (!(Lr >= 0) || double.IsInfinity(Lr)) throw new QuantTuneException($"AdamW: learning rate must be a finite number >= 0, got {Lr}.");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new QuantTuneException($"AdamW: beta1 must be in [0, 1), got {Beta1}.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new QuantTuneException($"AdamW: beta2 must be in [0, 1), got {Beta2}.");
        if (!(Eps >= 0)) throw new QuantTuneException($"AdamW: eps must be >= 0, got {Eps}.");
        if (!(WeightDecay >= 0)) throw new QuantTuneException($"AdamW: weight decay must be >= 0, got {WeightDecay}.");
    }
}
