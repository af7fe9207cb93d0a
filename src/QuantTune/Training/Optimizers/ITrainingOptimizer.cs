using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// The one optimizer interface the trainer drives. It is ours rather than TorchSharp's
/// <c>torch.optim.Optimizer</c> so that 32-bit, paged and 8-bit optimizers look alike to the
/// trainer, report their memory the same way, and expose their complete state as named tensors
/// that a checkpoint can store for a bit-exact resume.
/// </summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>A short name for logs and checkpoints, e.g. <c>adamw</c>, <c>adamw_8bit</c>.</summary>
    string Name { get; }

    /// <summary>The learning rate of the next <see cref="Step"/>; a scheduler sets it before every step.</summary>
    double LearningRate { get; set; }

    /// <summary>
    /// One update of every parameter from its <c>grad</c>. A parameter whose grad is null is
    /// skipped and its step count does not advance (as in PyTorch).
    /// </summary>
    void Step();

    /// <summary>Drops every parameter's grad (PyTorch's default <c>zero_grad(set_to_none=True)</c>).</summary>
    void ZeroGrad();

    /// <summary>Bytes held by optimizer state (moments, quantization constants and maps), for memory accounting.</summary>
    long StateBytes { get; }

    /// <summary>
    /// Everything a resumed run needs to continue bit-exactly, step counts included: fresh CPU
    /// tensors (the caller owns and disposes them) under stable names
    /// <c>{parameter}.{field}</c>. Hyperparameters are not included: they come from the options
    /// and the scheduler.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> StateDict();

    /// <summary>
    /// Replaces the whole state with one saved by <see cref="StateDict"/> of an optimizer of the
    /// same kind over the same parameters. Names, shapes and dtypes are checked before anything
    /// is changed; a mismatch throws <see cref="Diagnostics.QuantTuneException"/> naming the entry.
    /// The tensors are copied; the caller keeps ownership of them.
    /// </summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);
}
