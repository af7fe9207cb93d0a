using QuantTune.Quantization.Layers;
using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Activations;

/// <summary>
/// W8A8: a linear layer with a quantized weight whose input is also quantized to 8 bits,
/// dynamically (per token) or statically (one calibrated range per layer).
/// </summary>
public sealed class ActivationQuantizedLinear : nn.Module<Tensor, Tensor>
{
    public QuantizedTensor Weight { get; }
    public readonly Parameter? bias;
    public ActivationMode Mode { get; }
    /// <summary>The static input range (null in dynamic mode).</summary>
    public float? Alpha { get; }

    public ActivationQuantizedLinear(QuantizedTensor weight, Tensor? bias, ActivationMode mode, float? alpha) : base(nameof(ActivationQuantizedLinear))
    {
        if (mode == ActivationMode.Static && alpha is null) throw new ArgumentException("static activation quantization needs a calibrated range");
        Weight = weight;
        Mode = mode;
        Alpha = mode == ActivationMode.Static ? alpha : null;
        if (bias is not null) this.bias = new Parameter(bias.detach().clone().DetachFromDisposeScope(), requires_grad: false); // owned by this layer, not by a dispose scope its builder runs in
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = ActivationQuantization.FakeQuantize(input, Alpha);
        var y = DequantizingMatmul.Apply(x, Weight);
        if (bias is not null) y = y.Plus(bias.to_type(y.dtype));
        return y.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Weight.Dispose();
        base.Dispose(disposing);
    }
}
