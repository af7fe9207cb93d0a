using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// Stands in for a linear layer while its calibration inputs pass: adds them to a
/// <see cref="HessianAccumulator"/>, then returns the layer's own output. The wrapped layer is
/// not registered as a submodule, so disposing the wrapper leaves it intact.
/// </summary>
internal sealed class HessianCapture : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> _inner;

    public HessianCapture(nn.Module<Tensor, Tensor> inner, long inFeatures) : base(nameof(HessianCapture))
    {
        _inner = inner;
        Accumulator = new HessianAccumulator(inFeatures);
    }

    public HessianAccumulator Accumulator { get; }

    public override Tensor forward(Tensor input)
    {
        Accumulator.Add(input);
        return _inner.forward(input);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Accumulator.Dispose();
        base.Dispose(disposing);
    }
}
