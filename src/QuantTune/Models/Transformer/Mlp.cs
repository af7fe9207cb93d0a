using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>The gated feed-forward block (SwiGLU for silu): down(act(gate(x)) · up(x)), gate and up separate or fused (Phi-3's gate_up_proj).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    /// <summary>The separate gate and up projections (<see cref="ProjectionLayout.Separate"/>); null in the fused layout.</summary>
    public nn.Module<Tensor, Tensor>? gate_proj, up_proj;
    /// <summary>Phi-3's one projection for gate and up, rows in that order (<see cref="ProjectionLayout.Fused"/>); null otherwise.</summary>
    public nn.Module<Tensor, Tensor>? gate_up_proj;
    public nn.Module<Tensor, Tensor> down_proj;
    readonly string _act;
    readonly long _intermediate;

    public Mlp(ModelConfig c, ScalarType dtype, Device device) : base(nameof(Mlp))
    {
        _act = c.HiddenAct;
        _intermediate = c.IntermediateSize;
        if (c.Projections == ProjectionLayout.Fused)
            gate_up_proj = new Linear(c.HiddenSize, 2 * c.IntermediateSize, c.MlpBias, dtype, device);
        else
        {
            gate_proj = new Linear(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
            up_proj = new Linear(c.HiddenSize, c.IntermediateSize, c.MlpBias, dtype, device);
        }
        down_proj = new Linear(c.IntermediateSize, c.HiddenSize, c.MlpBias, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (gate, up) = Project(x);
        var activated = _act switch
        {
            "silu" => nn.functional.silu(gate),
            "gelu" => nn.functional.gelu(gate),
            _ => nn.functional.gelu(gate, TorchSharp.Modules.GELU.Approximate.tanh),
        };
        return down_proj.forward(activated * up).MoveToOuterDisposeScope();
    }

    /// <summary>Gate and up [.., intermediate]: two projections, or the fused one's halves (Phi3MLP's chunk(2): gate first).</summary>
    (Tensor Gate, Tensor Up) Project(Tensor x)
    {
        if (gate_up_proj is null) return (gate_proj!.forward(x), up_proj!.forward(x));
        var both = gate_up_proj.forward(x);
        return (both.narrow(-1, 0, _intermediate), both.narrow(-1, _intermediate, _intermediate));
    }
}
