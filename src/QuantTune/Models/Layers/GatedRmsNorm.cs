using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Models.Layers;

/// <summary>
/// RMSNorm followed by a SiLU gate (transformers' Qwen3_5RMSNormGated, the FLA library's
/// FusedRMSNormGated): w · x̂ in the input's dtype, times silu(gate) in fp32, cast back. Unlike the
/// decoder's own norms in Qwen3.5 it scales by w, not 1 + w (weight initialised to 1).
/// </summary>
public sealed class GatedRmsNorm : nn.Module
{
    public readonly Parameter weight;
    readonly double _eps;

    public GatedRmsNorm(long dim, double eps, ScalarType dtype, Device? device = null) : base(nameof(GatedRmsNorm))
    {
        _eps = eps;
        weight = new Parameter(ones([dim], dtype, device));
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor gate)
    {
        using var scope = NewDisposeScope();
        var h = x.to_type(ScalarType.Float32);
        h = h * rsqrt(h.Power(2).mean([-1], keepdim: true).Plus(_eps));
        var scaled = weight * h.to_type(x.dtype);
        var gated = scaled.to_type(ScalarType.Float32) * nn.functional.silu(gate.to_type(ScalarType.Float32));
        return gated.to_type(x.dtype).MoveToOuterDisposeScope();
    }
}
