using QuantTune.Models.Config;
using QuantTune.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// A sparse mixture-of-experts MLP (transformers' Qwen3MoeSparseMoeBlock): the router
/// (<c>gate</c>) picks k experts per token and weights them; each expert
/// (<c>experts.N</c>, a gated <see cref="Mlp"/> of moe_intermediate_size with its own
/// gate_proj, up_proj and down_proj) runs on the tokens routed to it only, gathered with
/// index_select, and its weighted output is added back to those tokens' rows with index_add,
/// expert by expert in index order as transformers sums them. The loop is over experts, never
/// over tokens. Where the mixture has a shared expert (Qwen2-MoE's <c>shared_expert</c>), every
/// token also runs through it, its output times sigmoid(<c>shared_expert_gate</c>(x)) where gated,
/// added to the routed experts' sum. Each expert's projections are registered under the family's
/// names (<see cref="MixtureOfExperts.ExpertNames"/>), the router under its (<see cref="MixtureOfExperts.RouterName"/>: gpt-oss's
/// <c>router</c>); gpt-oss's experts carry biases and the clamped SwiGLU (<see cref="MixtureOfExperts.ClampedActivation"/>).
/// </summary>
public sealed class SparseMoeBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>index_add_'s and add_'s alpha, held so that it outlives the native call (see <see cref="PinnedScalarMath"/>).</summary>
    static readonly TorchSharp.Scalar One = 1.ToScalar();

    public TopKRouter gate;
    public TorchSharp.Modules.ModuleList<Mlp> experts;
    /// <summary>The expert every token runs through (<see cref="MixtureOfExperts.Shared"/>); null where the mixture has none.</summary>
    public Mlp? shared_expert;
    /// <summary>The shared expert's per-token gate; null where there is no shared expert or it is ungated.</summary>
    public SharedExpertGate? shared_expert_gate;

    /// <summary>
    /// When set, each forward appends its router logits [tokens, experts] here (transformers'
    /// output_router_logits), with their autograd graph, for the load-balancing loss; the list's
    /// owner disposes them.
    /// </summary>
    public List<Tensor>? RouterLogits { get; set; }

    public SparseMoeBlock(ModelConfig c, MixtureOfExperts moe, ScalarType dtype, Device device) : base(nameof(SparseMoeBlock))
    {
        gate = new TopKRouter(c, moe, dtype, device);
        var expert = c with { IntermediateSize = moe.ExpertIntermediateSize, MlpBias = moe.ExpertBias, Mlp = MlpKind.Gated, Projections = ProjectionLayout.Separate, Names = moe.ExpertNames };
        experts = new TorchSharp.Modules.ModuleList<Mlp>(Enumerable.Range(0, moe.NumExperts).Select(_ => new Mlp(expert, dtype, device, clamped: moe.ClampedActivation)).ToArray());
        if (moe.Shared is { } shared)
        {
            shared_expert = new Mlp(expert with { IntermediateSize = shared.IntermediateSize, MlpBias = false, Names = ModuleNames.Llama }, dtype, device);
            if (shared.Gated) shared_expert_gate = new SharedExpertGate(c, dtype, device);
        }
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(gate), moe.RouterName));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var flat = x.reshape(-1, x.shape[^1]);
        var logits = gate.forward(flat);
        if (RouterLogits is not null) RouterLogits.Add(logits.alias().DetachFromDisposeScope());
        var (weights, chosen) = gate.Route(logits, flat.dtype);
        var output = Dispatch(experts, flat, weights, chosen);
        if (shared_expert is not null)
        {
            var sharedOutput = shared_expert.forward(flat);
            if (shared_expert_gate is not null) sharedOutput = shared_expert_gate.forward(flat) * sharedOutput;
            output.add_(sharedOutput.to_type(output.dtype), One);
        }
        return output.reshape(x.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The routed experts' weighted sum [tokens, hidden] of hidden states <paramref name="flat"/> [tokens, hidden], each token
    /// routed to <paramref name="chosen"/> [tokens, k] with <paramref name="weights"/> [tokens, k]: each expert runs once on
    /// the rows routed to it, in expert order.
    /// </summary>
    public static Tensor Dispatch(IList<Mlp> experts, Tensor flat, Tensor weights, Tensor chosen)
    {
        using var scope = NewDisposeScope();
        long k = chosen.shape[1];
        // The (token, slot) pairs grouped by expert: sorted by expert id, then counted per expert (one transfer to the host per layer).
        var byExpert = chosen.reshape(-1);
        var order = byExpert.argsort();
        long[] counts = byExpert.bincount(null, experts.Count).cpu().data<long>().ToArray();
        // The token of each (token, slot) pair, in that order: slot j of token t is pair t·k + j.
        var tokens = PinnedScalarMath.Arange(flat.shape[0], ScalarType.Int64, flat.device).repeat_interleave(k).index_select(0, order);
        var slotWeights = weights.reshape(-1).index_select(0, order);
        var output = zeros_like(flat);
        long start = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            long n = counts[e];
            if (n == 0) continue;
            using var inner = NewDisposeScope();
            var rows = tokens.narrow(0, start, n);
            var y = experts[e].forward(flat.index_select(0, rows)) * slotWeights.narrow(0, start, n).unsqueeze(1);
            output.index_add_(0, rows, y.to_type(output.dtype), One);
            start += n;
        }
        return output.MoveToOuterDisposeScope();
    }
}
