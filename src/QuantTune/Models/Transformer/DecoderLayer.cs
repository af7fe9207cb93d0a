using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// One decoder block. Pre-norm (<see cref="NormPlacement.Pre"/>): h = x + attn(norm₁(x));
/// out = h + mlp(norm₂(h)). Gemma's sandwich (<see cref="NormPlacement.Sandwich"/>) also norms
/// each block's output: h = x + norm₂(attn(norm₁(x))); out = h + norm₄(mlp(norm₃(h))) - where
/// post_attention_layernorm is norm₂ after attention, not the MLP's input norm.
/// </summary>
public sealed class DecoderLayer : nn.Module
{
    public Attention self_attn;
    /// <summary>The dense <see cref="Mlp"/>, or in a mixture-of-experts layer the <see cref="SparseMoeBlock"/> (its router and experts).</summary>
    public nn.Module<Tensor, Tensor> mlp;
    /// <summary>RMSNorms, or GPT-2's LayerNorms (ln_1, ln_2).</summary>
    public nn.Module<Tensor, Tensor> input_layernorm, post_attention_layernorm;
    /// <summary>Gemma's norms around the MLP; null in the pre-norm placement.</summary>
    public nn.Module<Tensor, Tensor>? pre_feedforward_layernorm, post_feedforward_layernorm;

    /// <param name="layer">the layer's index in <paramref name="c"/> (its attention window)</param>
    public DecoderLayer(ModelConfig c, int layer, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        self_attn = new Attention(c, layer, dtype, device);
        mlp = c.IsSparse(layer) ? new SparseMoeBlock(c, c.Experts!, dtype, device) : new Mlp(c, dtype, device);
        input_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        post_attention_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        if (c.Placement == NormPlacement.Sandwich)
        {
            pre_feedforward_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
            post_feedforward_layernorm = Norms.Create(c.HiddenSize, c.RmsNormEps, dtype, device, c.Norm);
        }
        RegisterComponents();
        ModuleNaming.Rename(this, (nameof(self_attn), c.Names.Attention), (nameof(mlp), c.Names.Mlp),
            (nameof(input_layernorm), c.Names.AttentionNorm), (nameof(post_attention_layernorm), c.Names.MlpNorm));
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, int layerIndex, long past, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.Forward(input_layernorm.forward(x), cos, sin, layerIndex, past, cache);
        if (pre_feedforward_layernorm is null || post_feedforward_layernorm is null)
        {
            var h = x.Plus(attended);
            return h.Plus(mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
        }
        var s = x.Plus(post_attention_layernorm.forward(attended));
        return s.Plus(post_feedforward_layernorm.forward(mlp.forward(pre_feedforward_layernorm.forward(s)))).MoveToOuterDisposeScope();
    }
}
