using QuantTune.Models.Layers;
using QuantTune.Peft.Common;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Peft.Bottleneck;

/// <summary>
/// A sub-block's output projection followed by a residual bottleneck adapter:
/// h = base(x); y = h + up(GeLU(down(h))). <c>adapter_up</c> starts at zero (weight and bias), so
/// the model is unchanged at initialisation while <c>adapter_down</c> (Kaiming-uniform) already
/// passes a gradient to it. Wrapping the projection puts the adapter exactly where Houlsby et al.
/// do: after the sub-block, before the residual addition of the decoder layer.
/// </summary>
public sealed class BottleneckLinear : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> base_layer;
    public Linear adapter_down, adapter_up;

    public BottleneckLinear(nn.Module<Tensor, Tensor> baseLayer, long hidden, long bottleneck, ScalarType dtype, Device device, Generator generator)
        : base(nameof(BottleneckLinear))
    {
        base_layer = baseLayer;
        adapter_down = new Linear(hidden, bottleneck, true, dtype, device);
        adapter_up = new Linear(bottleneck, hidden, true, dtype, device);
        SeededInit.KaimingUniform(adapter_down.weight, adapter_down.bias, generator);
        using (NewDisposeScope()) // the handles in-place ops return
        using (no_grad())
        {
            adapter_up.weight.zero_();
            adapter_up.bias!.zero_();
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = base_layer.forward(x);
        var z = adapter_up.forward(nn.functional.gelu(adapter_down.forward(h.to_type(adapter_down.weight.dtype))));
        return h.Plus(z.to_type(h.dtype)).MoveToOuterDisposeScope();
    }
}
