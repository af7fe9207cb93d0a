using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>The gated feed-forward block (SwiGLU for silu): down(act(gate(x)) · up(x)) (gpt-oss's experts: the clamped SwiGLU, <see cref="ClampedSwiGlu"/>), gate and up separate or fused (Phi-3's gate_up_proj); or the plain one, down(act(up(x))) (GPT-2's c_fc and c_proj).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    /// <summary>The separate gate and up projections (<see cref="ProjectionLayout.Separate"/>); null in the fused layout. The plain MLP has up only.</summary>
    public nn.Module<Tensor, Tensor>? gate_proj, up_proj;
    /// <summary>Phi-3's one projection for gate and up, rows in that order (<see cref="ProjectionLayout.Fused"/>); null otherwise.</summary>
    public nn.Module<Tensor, Tensor>? gate_up_proj;
    public nn.Module<Tensor, Tensor> down_proj;
    readonly string _act;
    readonly long _intermediate;
    readonly ClampedSwiGlu? _clamped;

    /// <param name="intermediateSize">the width where the layer's differs from the config's (Gemma 4's double-wide MLPs)</param>
    /// <param name="clamped">gpt-oss's clamped SwiGLU in place of act(gate)·up (its experts); null: the config's activation</param>
    public Mlp(ModelConfig c, ScalarType dtype, Device device, int? intermediateSize = null, ClampedSwiGlu? clamped = null) : base(nameof(Mlp))
    {
        _act = c.HiddenAct;
        _clamped = clamped;
        int width = intermediateSize ?? c.IntermediateSize;
        _intermediate = width;
        if (c.Mlp == MlpKind.Plain)
            up_proj = new Linear(c.HiddenSize, width, c.MlpBias, dtype, device);
        else if (c.Projections == ProjectionLayout.Fused)
            gate_up_proj = new Linear(c.HiddenSize, 2 * width, c.MlpBias, dtype, device);
        else
        {
            gate_proj = new Linear(c.HiddenSize, width, c.MlpBias, dtype, device);
            up_proj = new Linear(c.HiddenSize, width, c.MlpBias, dtype, device);
        }
        down_proj = new Linear(width, c.HiddenSize, c.MlpBias, dtype, device);
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(gate_proj), c.Names.Gate), (nameof(up_proj), c.Names.Up), (nameof(down_proj), c.Names.Down));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (gate_proj is null && gate_up_proj is null)
            return down_proj.forward(Activate(up_proj!.forward(x))).MoveToOuterDisposeScope();
        var (gate, up) = Project(x);
        if (_clamped is { } g)
        {
            // GptOssExperts: gate.clamp(max=limit), up.clamp(−limit, limit), glu = gate·sigmoid(gate·alpha), (up + 1)·glu
            gate = gate.ClampedMax(g.Limit);
            up = up.Clamped(-g.Limit, g.Limit);
            var glu = gate * gate.Times(g.Alpha).sigmoid();
            return down_proj.forward(up.Plus(1.0) * glu).MoveToOuterDisposeScope();
        }
        return down_proj.forward(Activate(gate) * up).MoveToOuterDisposeScope();
    }

    /// <summary>silu, exact gelu, or the tanh approximation (gelu_pytorch_tanh; GPT-2's gelu_new is the same formula).</summary>
    Tensor Activate(Tensor x) => Activate(_act, x);

    /// <summary>The activation <paramref name="act"/> (a config's hidden_act) of <paramref name="x"/>.</summary>
    internal static Tensor Activate(string act, Tensor x) => act switch
    {
        "silu" => nn.functional.silu(x),
        "gelu" => nn.functional.gelu(x),
        _ => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
    };

    /// <summary>Gate and up [.., intermediate]: two projections, or the fused one's halves (Phi3MLP's chunk(2): gate first).</summary>
    (Tensor Gate, Tensor Up) Project(Tensor x)
    {
        if (gate_up_proj is null) return (gate_proj!.forward(x), up_proj!.forward(x));
        var both = gate_up_proj.forward(x);
        return (both.narrow(-1, 0, _intermediate), both.narrow(-1, _intermediate, _intermediate));
    }
}
