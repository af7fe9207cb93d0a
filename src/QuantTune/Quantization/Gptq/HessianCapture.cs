using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// Stands in for a linear layer while its calibration inputs pass: adds them to a
/// <see cref="HessianAccumulator"/>, then returns the layer's own output. The wrapped layer is
/// not registered as a submodule; the caller disposes <see cref="Accumulator"/> and lets the
/// wrapper go (disposing a TorchSharp module also disposes what its fields hold).
/// </summary>
internal sealed class HessianCapture : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> _inner;

    public HessianCapture(nn.Module<Tensor, Tensor> inner, long inFeatures, Device device) : base(nameof(HessianCapture))
    {
        _inner = inner;
        Accumulator = new HessianAccumulator(inFeatures, device);
    }

    public HessianAccumulator Accumulator { get; }

    public override Tensor forward(Tensor input)
    {
        Accumulator.Add(input);
        return _inner.forward(input);
    }
}
