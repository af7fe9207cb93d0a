using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Peft.Ia3;

/// <summary>
/// A linear layer (full precision or quantized) with a learned IA³ scaling vector <c>ia3_l</c>:
/// for an attention projection y = base(x) ⊙ l with l of PEFT's shape [out, 1]; for a
/// feed-forward layer y = base(x ⊙ l) with l of shape [1, in]. l starts at ones, so the wrapped
/// layer is unchanged until training moves it. Field names follow PEFT (<c>base_layer</c>,
/// <c>ia3_l</c>) so the parameter path is PEFT's saved key without the adapter name.
/// </summary>
public sealed class Ia3Linear : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> base_layer;
    public readonly Parameter ia3_l;

    /// <summary>True: the input is scaled; false: the output is.</summary>
    public bool IsFeedforward { get; }

    public Ia3Linear(nn.Module<Tensor, Tensor> baseLayer, long inFeatures, long outFeatures, bool isFeedforward, ScalarType dtype, Device device)
        : base(nameof(Ia3Linear))
    {
        base_layer = baseLayer;
        IsFeedforward = isFeedforward;
        long[] shape = isFeedforward ? [1, inFeatures] : [outFeatures, 1];
        ia3_l = new Parameter(ones(shape, dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var l = ia3_l.flatten();
        if (IsFeedforward) return base_layer.forward(x * l.to_type(x.dtype)).MoveToOuterDisposeScope();
        var y = base_layer.forward(x);
        return (y * l.to_type(y.dtype)).MoveToOuterDisposeScope();
    }
}
