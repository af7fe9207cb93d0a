using QuantTune.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Peft.BitFit;

/// <summary>
/// A linear layer without a trainable bias (a bias-free <see cref="QuantTune.Models.Layers.Linear"/>,
/// or a frozen quantized layer) given one: y = base(x) + bias, bias starting at zero. On a
/// quantized layer that has its own frozen bias, this bias is the trained change to it.
/// The field is named <c>bias</c> so the parameter's path is the layer's path + ".bias", the key a
/// checkpoint with biases would use.
/// </summary>
public sealed class BitFitLinear : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> base_layer;
    public readonly Parameter bias;

    /// <param name="initial">the bias to start from (cast to <paramref name="dtype"/>); null: zeros</param>
    public BitFitLinear(nn.Module<Tensor, Tensor> baseLayer, long outFeatures, ScalarType dtype, Device device, Tensor? initial = null) : base(nameof(BitFitLinear))
    {
        base_layer = baseLayer;
        using (no_grad())
            bias = new Parameter(initial is null ? zeros([outFeatures], dtype, device) : initial.detach().to(dtype, device, copy: true));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = base_layer.forward(x);
        return y.Plus(bias.to_type(y.dtype)).MoveToOuterDisposeScope();
    }
}
