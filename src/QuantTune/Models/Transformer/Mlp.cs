using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>The gated feed-forward block (SwiGLU for silu): down(act(gate(x)) · up(x)).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> gate_proj, up_proj, down_proj;
    readonly string _act;

    public Mlp(ModelConfig c, ScalarType dtype, Device device) : base(nameof(Mlp))
    {
        _act = c.HiddenAct;
        gate_proj = new Linear(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
        up_proj = new Linear(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
        down_proj = new Linear(c.IntermediateSize, c.HiddenSize, c.MlpBias, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gate = gate_proj.forward(x);
        var activated = _act switch
        {
            "silu" => nn.functional.silu(gate),
            "gelu" => nn.functional.gelu(gate),
            _ => nn.functional.gelu(gate, TorchSharp.Modules.GELU.Approximate.tanh),
        };
        return down_proj.forward(activated * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}
