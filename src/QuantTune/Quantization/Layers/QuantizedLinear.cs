using QuantTune.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Layers;

/// <summary>
/// A frozen linear layer whose weight lives only in quantized storage (packed codes and
/// constants): y = x · dequant(W)ᵀ + b, dequantized chunk by chunk inside forward and again
/// inside backward (<see cref="DequantizingMatmul"/>), so that its memory is the quantized size.
/// The bias, if any, stays in floating point and frozen.
/// </summary>
public sealed class QuantizedLinear : nn.Module<Tensor, Tensor>
{
    public QuantizedTensor Weight { get; private set; }
    public readonly Parameter? bias;

    public long InFeatures => Weight.Shape[1];
    public long OutFeatures => Weight.Shape[0];

    public QuantizedLinear(QuantizedTensor weight, Tensor? bias) : base(nameof(QuantizedLinear))
    {
        if (weight.Shape.Length != 2) throw new ArgumentException($"a linear weight is 2-D, not [{string.Join(", ", weight.Shape)}]");
        Weight = weight;
        if (bias is not null) this.bias = new Parameter(bias.detach().clone().DetachFromDisposeScope(), requires_grad: false); // owned by this layer, not by a dispose scope its builder runs in
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var y = DequantizingMatmul.Apply(input, Weight);
        return bias is null ? y : y.PlusInPlace(bias.to_type(y.dtype));
    }

    /// <summary>Bytes this layer holds: the quantized weight and the bias.</summary>
    public long StorageBytes => Weight.StorageBytes + (bias is null ? 0 : bias.numel() * bias.ElementSize);

    /// <summary>Moves the quantized storage (and the bias) to a device.</summary>
    public void MoveTo(Device device)
    {
        var old = Weight;
        Weight = Weight.To(device);
        if (!ReferenceEquals(old, Weight)) old.Dispose();
        this.to(device);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Weight.Dispose();
        base.Dispose(disposing);
    }
}
