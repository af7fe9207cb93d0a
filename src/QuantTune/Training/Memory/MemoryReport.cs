namespace QuantTune.Training.Memory;

/// <summary>
/// The three memory costs of fine-tuning (QST paper §3.2) for one run, in bytes:
/// M1 the model's weights (floating-point parameters and quantized storage, counted from the
/// tensors), M2 the optimizer state plus the gradients of trainable parameters (counted from
/// the tensors), M3 the activations kept for backward (measured: RSS growth over a forward
/// pass), and the measured peak of a training step (M1 + M2 + the step's peak RSS growth).
/// <see cref="Method"/> says how; <see cref="MeasuredStep"/> is the (1-based) step M3 and the peak come from.
/// </summary>
public sealed record MemoryReport(long Weights, long OptimizerAndGradients, long? Activations, long? StepPeak, string Method, int? MeasuredStep = null)
{
    public long M1 => Weights;
    public long M2 => OptimizerAndGradients;
    public long? M3 => Activations;
}
