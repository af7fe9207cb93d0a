using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// RMSNorm as Llama computes it: in fp32, x · rsqrt(mean(x²) + ε), cast back to the input
/// dtype, then scaled by the weight.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    readonly double _eps;

    public RmsNorm(long dim, double eps, ScalarType dtype, Device? device = null) : base(nameof(RmsNorm))
    {
        _eps = eps;
        weight = new Parameter(ones([dim], dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to_type(ScalarType.Float32);
        var variance = h.Power(2).mean([-1], keepdim: true);
        h = h * rsqrt(variance.Plus(_eps));
        return (weight * h.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
