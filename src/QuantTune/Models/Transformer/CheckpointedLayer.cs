using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Gradient checkpointing for one decoder layer: forward runs the layer without autograd and
/// keeps only its input; backward runs it again with autograd (restoring the random state, so
/// dropout draws the same masks) and backpropagates through that recomputation. Activation
/// memory drops from every tensor a layer keeps to one [B, T, hidden] input per layer, for one
/// extra forward pass of compute.
/// </summary>
public sealed class CheckpointedLayer : autograd.SingleTensorFunction<CheckpointedLayer>
{
    public override string Name => nameof(CheckpointedLayer);

    public static Tensor Apply(DecoderLayer layer, Tensor x, Tensor cos, Tensor sin, int index) => apply(x, layer, cos, sin, index);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_for_backward([x]);
        ctx.save_data("layer", vars[1]);
        // The rope tables belong to the caller's dispose scope, which ends before backward runs.
        ctx.save_data("cos", ((Tensor)vars[2]).detach().clone().DetachFromDisposeScope());
        ctx.save_data("sin", ((Tensor)vars[3]).detach().clone().DetachFromDisposeScope());
        ctx.save_data("index", vars[4]);
        ctx.save_data("rng", get_rng_state().DetachFromDisposeScope());
        using var _ = no_grad();
        return ((DecoderLayer)vars[1]).Forward(x, (Tensor)vars[2], (Tensor)vars[3], (int)vars[4], 0, null);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var x = ctx.get_saved_variables()[0];
        var layer = (DecoderLayer)ctx.get_data("layer");
        using var cos = (Tensor)ctx.get_data("cos");
        using var sin = (Tensor)ctx.get_data("sin");
        using var rng = (Tensor)ctx.get_data("rng");
        using var current = get_rng_state();
        set_rng_state(rng);
        Tensor inputGrad;
        using (enable_grad())
        {
            var input = x.detach().requires_grad_(true);
            using var y = layer.Forward(input, cos, sin, (int)ctx.get_data("index"), 0, null);
            y.backward([gradOutput]);
            inputGrad = input.grad!.detach().clone();
        }
        set_rng_state(current);
        // One entry per argument of Apply: the input's gradient; none for layer, tables, index.
        return [inputGrad, null!, null!, null!, null!];
    }
}
