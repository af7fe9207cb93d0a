using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// One decoder block; its token mixer is softmax attention, or in a hybrid decoder's
/// linear-attention layers Gated DeltaNet (Qwen3.5). Pre-norm (<see cref="NormPlacement.Pre"/>): h = x + attn(norm₁(x));
/// out = h + mlp(norm₂(h)), each block's output times Granite's residual multiplier where it has one. Gemma's sandwich (<see cref="NormPlacement.Sandwich"/>) also norms
/// each block's output: h = x + norm₂(attn(norm₁(x))); out = h + norm₄(mlp(norm₃(h))) - where
/// post_attention_layernorm is norm₂ after attention, not the MLP's input norm. OLMo 2's post-norm
/// (<see cref="NormPlacement.Post"/>) has only the norms after each block: h = x + norm₂(attn(x));
/// out = h + norm₄(mlp(h)). Gemma 4 then adds the layer's per-layer input, gated by the hidden state
/// (out + norm(per_layer_projection(act(per_layer_input_gate(out)) · input))), and multiplies by layer_scalar. Gemma 4's
/// mixture of experts (<see cref="MixtureOfExperts.BesideDenseMlp"/>) runs beside the dense MLP on h:
/// out = h + norm₄(norm₅(mlp(norm₃(h))) + norm₆(experts(norm₇(h), router(h)))).
/// </summary>
public sealed class DecoderLayer : nn.Module
{
    /// <summary>Softmax attention; null in a linear-attention layer.</summary>
    public Attention? self_attn;
    /// <summary>Qwen3.5's Gated DeltaNet; null in a softmax-attention layer.</summary>
    public GatedDeltaNet? linear_attn;
    /// <summary>The dense <see cref="Mlp"/>, or in a mixture-of-experts layer the <see cref="SparseMoeBlock"/> (its router and experts); Gemma 4's experts sit beside it (<see cref="experts"/>).</summary>
    public nn.Module<Tensor, Tensor> mlp;
    /// <summary>The attention's input norm: an RMSNorm, or GPT-2's LayerNorm (ln_1); null in OLMo 2's post-norm placement.</summary>
    public nn.Module<Tensor, Tensor>? input_layernorm;
    /// <summary>The MLP's input norm (pre-norm; GPT-2's ln_2), or the norm of the attention's output (sandwich, post-norm).</summary>
    public nn.Module<Tensor, Tensor> post_attention_layernorm;
    /// <summary>Gemma's norms around the MLP (OLMo 2: only the one after it); null in the pre-norm placement.</summary>
    public nn.Module<Tensor, Tensor>? pre_feedforward_layernorm, post_feedforward_layernorm;

    /// <summary>Gemma 4's per-layer input: the gate (hidden → per-layer size), the projection back, and the norm of its output; null where the family has none.</summary>
    public nn.Module<Tensor, Tensor>? per_layer_input_gate, per_layer_projection;
    /// <summary>The norm of the per-layer input's projection (Gemma 4); null where the family has none.</summary>
    public RmsNorm? post_per_layer_input_norm;
    /// <summary>Gemma 4's router of the experts beside the dense MLP; null elsewhere.</summary>
    public ScaledTopKRouter? router;
    /// <summary>Gemma 4's experts beside the dense MLP (each a gated <see cref="Mlp"/> of moe_intermediate_size, stored fused in the checkpoint); null elsewhere.</summary>
    public TorchSharp.Modules.ModuleList<Mlp>? experts;
    /// <summary>Gemma 4's norms of the experts' input (…_2 before), of the MLP's output (…_1) and of the experts' output (…_2 after); null elsewhere.</summary>
    public nn.Module<Tensor, Tensor>? pre_feedforward_layernorm_2, post_feedforward_layernorm_1, post_feedforward_layernorm_2;
    /// <summary>Gemma 4's stored one-element factor on the layer's output (a buffer in transformers, loaded from the checkpoint and never trained); null where the family has none.</summary>
    public TorchSharp.Modules.Parameter? layer_scalar;
    readonly string _act;

    /// <summary>Granite's residual_multiplier on each block's output before its residual addition; null where the family has none.</summary>
    readonly double? _residualMultiplier;

    /// <param name="layer">the layer's index in <paramref name="c"/> (its attention window)</param>
    public DecoderLayer(ModelConfig c, int layer, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        if (c.IsLinearAttention(layer)) linear_attn = new GatedDeltaNet(c, dtype, device);
        else self_attn = new Attention(c, layer, dtype, device);
        bool besideMlp = c.IsSparse(layer) && c.Experts!.BesideDenseMlp;
        mlp = c.IsSparse(layer) && !besideMlp ? new SparseMoeBlock(c, c.Experts!, dtype, device) : new Mlp(c, dtype, device, c.IntermediateSizeOf(layer));
        if (c.Placement != NormPlacement.Post) input_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        post_attention_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        if (c.Placement == NormPlacement.Sandwich) pre_feedforward_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        if (c.Placement != NormPlacement.Pre) post_feedforward_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        _residualMultiplier = c.ResidualMultiplier is double r && r != 1 ? r : null;
        _act = c.HiddenAct;
        if (c.PerLayerInputs is { } pli)
        {
            per_layer_input_gate = new Linear(c.HiddenSize, pli.Size, false, dtype, device);
            per_layer_projection = new Linear(pli.Size, c.HiddenSize, false, dtype, device);
            post_per_layer_input_norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        }
        if (besideMlp)
        {
            var moe = c.Experts!;
            router = new ScaledTopKRouter(c, moe, dtype, device);
            var expert = c with { IntermediateSize = moe.ExpertIntermediateSize, MlpBias = false, Mlp = MlpKind.Gated, Projections = ProjectionLayout.Separate, Names = moe.ExpertNames };
            experts = new TorchSharp.Modules.ModuleList<Mlp>(Enumerable.Range(0, moe.NumExperts).Select(_ => new Mlp(expert, dtype, device)).ToArray());
            pre_feedforward_layernorm_2 = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
            post_feedforward_layernorm_1 = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
            post_feedforward_layernorm_2 = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        }
        if (c.LayerScalar) layer_scalar = new TorchSharp.Modules.Parameter(ones([1], dtype, device), requires_grad: false);
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(self_attn), c.Names.Attention), (nameof(mlp), c.Names.Mlp),
            (nameof(input_layernorm), c.Names.AttentionNorm), (nameof(post_attention_layernorm), c.Names.MlpNorm));
    }

    /// <param name="perLayerInput">this layer's slice of Gemma 4's per-layer inputs [B, T, size]; null where the family has none</param>
    /// <param name="shared">keys and values shared between this pass's layers (Gemma 4); null where no layer shares</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, int layerIndex, long past, KvCache? cache, Tensor? perLayerInput = null, SharedKeyValues? shared = null)
    {
        using var scope = NewDisposeScope();
        var normed = input_layernorm is null ? x : input_layernorm.forward(x);
        var attended = linear_attn is not null
            ? linear_attn.Forward(normed, layerIndex, cache)
            : self_attn!.Forward(normed, cos, sin, layerIndex, past, cache, shared);
        if (post_feedforward_layernorm is null)
        {
            var h = x.Plus(Residual(attended));
            return h.Plus(Residual(mlp.forward(post_attention_layernorm.forward(h)))).MoveToOuterDisposeScope();
        }
        var s = x.Plus(post_attention_layernorm.forward(attended));
        var mlpInput = pre_feedforward_layernorm is null ? s : pre_feedforward_layernorm.forward(s);
        var fed = mlp.forward(mlpInput);
        if (router is not null) fed = post_feedforward_layernorm_1!.forward(fed).Plus(post_feedforward_layernorm_2!.forward(RoutedExperts(s)));
        var output = s.Plus(post_feedforward_layernorm.forward(fed));
        if (per_layer_input_gate is not null)
        {
            if (perLayerInput is null) throw new InvalidOperationException($"layer {layerIndex} takes a per-layer input, and none was given");
            var gated = Mlp.Activate(_act, per_layer_input_gate.forward(output)) * perLayerInput;
            output = output.Plus(post_per_layer_input_norm!.forward(per_layer_projection!.forward(gated)));
        }
        if (layer_scalar is not null) output = output * layer_scalar;
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Gemma 4's experts' output [B, T, hidden] for the hidden state after attention <paramref name="h"/>: routed by h, run on pre_feedforward_layernorm_2(h).</summary>
    Tensor RoutedExperts(Tensor h)
    {
        using var scope = NewDisposeScope();
        var flat = h.reshape(-1, h.shape[^1]);
        var (weights, chosen) = router!.Route(flat);
        return SparseMoeBlock.Dispatch(experts!, pre_feedforward_layernorm_2!.forward(flat), weights, chosen).reshape(h.shape).MoveToOuterDisposeScope();
    }

    /// <summary>A block's output as it joins the residual stream: times the residual multiplier (Granite), else unchanged.</summary>
    Tensor Residual(Tensor blockOutput) => _residualMultiplier is double r ? blockOutput.Times(r) : blockOutput;
}
