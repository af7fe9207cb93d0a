using static TorchSharp.torch;

namespace QuantTune.Quantization.Calibration;

/// <summary>
/// The clip range a calibrator chose, one value per group: [<see cref="Low"/>, <see cref="High"/>],
/// each of shape [groups], float32. For a symmetric choice Low = −High = −α. Owns both tensors.
/// </summary>
public sealed class ClipRange : IDisposable
{
    /// <summary>Takes ownership of <paramref name="low"/> and <paramref name="high"/>.</summary>
    public ClipRange(Tensor low, Tensor high)
    {
        Low = low;
        High = high;
    }

    /// <summary>The lower end per group (−α when symmetric).</summary>
    public Tensor Low { get; }

    /// <summary>The upper end per group (α when symmetric).</summary>
    public Tensor High { get; }

    /// <summary>A symmetric range [−α, α]; takes ownership of <paramref name="alpha"/>.</summary>
    public static ClipRange Symmetric(Tensor alpha) => new(alpha.neg(), alpha);

    /// <summary>Moves both tensors to the enclosing dispose scope (for use inside a <c>NewDisposeScope</c>).</summary>
    public ClipRange MoveToOuterDisposeScope()
    {
        Low.MoveToOuterDisposeScope();
        High.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Low.Dispose();
        High.Dispose();
    }
}
