using Linear = QuantTune.Models.Layers.Linear;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// A linear layer trained through fake quantization: it takes over the <see cref="Linear"/>'s own
/// weight and bias parameters (the latent full-precision weights stay trainable and keep their
/// state-dict names, "…q_proj.weight"), and each forward uses <see cref="QuantizeWeight"/> of them,
/// and optionally <see cref="QuantizeInput"/> of the input.
/// </summary>
public abstract class FakeQuantLinear : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    public readonly Parameter? bias;

    public long InFeatures { get; }
    public long OutFeatures { get; }

    protected FakeQuantLinear(string name, Linear linear) : base(name)
    {
        weight = linear.weight;
        bias = linear.bias;
        InFeatures = linear.InFeatures;
        OutFeatures = linear.OutFeatures;
    }

    /// <summary>Takes over another fake-quantized layer's parameters (e.g. to freeze it).</summary>
    protected FakeQuantLinear(string name, FakeQuantLinear source) : base(name)
    {
        weight = source.weight;
        bias = source.bias;
        InFeatures = source.InFeatures;
        OutFeatures = source.OutFeatures;
    }

    /// <summary>The weight the forward pass multiplies by; its gradient reaches <see cref="weight"/> by the STE.</summary>
    public abstract Tensor QuantizeWeight();

    /// <summary>
    /// The quantized weight itself, without gradient. The forward pass computes it as
    /// w + (q − w).detach() for the straight-through estimator, which floating-point rounding
    /// leaves a hair off q; this is q (values on the quantization grid).
    /// </summary>
    public virtual Tensor HardQuantizedWeight()
    {
        using var _ = no_grad();
        return QuantizeWeight().detach();
    }

    /// <summary>The input the forward pass multiplies; the identity unless activations are quantized.</summary>
    public abstract Tensor QuantizeInput(Tensor input);

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(QuantizeInput(input), QuantizeWeight(), bias).MoveToOuterDisposeScope();
    }
}
