using QuantTune.Models.Config;
using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// RMSNorm, x̂ = x · rsqrt(mean(x²) + ε) computed in fp32, in one of two kinds
/// (<see cref="NormKind"/>): Llama's casts x̂ back to the input dtype and then scales by the
/// weight (initialised to 1); Gemma's scales by (1 + weight) in fp32 and then casts (weight
/// initialised to 0, so a new norm is the identity scale in both); Gemma 4's scales by the weight in fp32
/// and then casts.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;
    readonly double _eps;
    public NormKind Kind { get; }

    public RmsNorm(long dim, double eps, ScalarType dtype, Device? device = null, NormKind kind = NormKind.Scaled) : base(nameof(RmsNorm))
    {
        _eps = eps;
        Kind = kind;
        weight = new Parameter(kind == NormKind.OffsetOne ? zeros([dim], dtype, device) : ones([dim], dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to_type(ScalarType.Float32);
        var variance = h.Power(2).mean([-1], keepdim: true);
        h = h * rsqrt(variance.Plus(_eps));
        if (Kind == NormKind.OffsetOne)
            return (h * weight.to_type(ScalarType.Float32).Plus(1.0)).to_type(x.dtype).MoveToOuterDisposeScope();
        if (Kind == NormKind.ScaledInFloat32)
            return (h * weight.to_type(ScalarType.Float32)).to_type(x.dtype).MoveToOuterDisposeScope();
        // An fp32 weight on a bf16 input (a bf16 QST side network keeps its norms fp32) gives the input's dtype back, as autocast would.
        var y = weight * h.to_type(x.dtype);
        return (y.dtype == x.dtype ? y : y.to_type(x.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>x̂ = x · rsqrt(mean(x²) + ε) in fp32, cast back, with no weight (Gemma 4's v_norm, with_scale=False).</summary>
    public static Tensor Unscaled(Tensor x, double eps)
    {
        using var scope = NewDisposeScope();
        var h = x.to_type(ScalarType.Float32);
        var variance = h.Power(2).mean([-1], keepdim: true);
        return (h * rsqrt(variance.Plus(eps))).to_type(x.dtype).MoveToOuterDisposeScope();
    }
}
