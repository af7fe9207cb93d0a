using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>One pre-norm decoder block: h = x + attn(norm(x)); out = h + mlp(norm(h)).</summary>
public sealed class DecoderLayer : nn.Module
{
    public Attention self_attn;
    public Mlp mlp;
    public RmsNorm input_layernorm, post_attention_layernorm;

    public DecoderLayer(ModelConfig c, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        self_attn = new Attention(c, dtype, device);
        mlp = new Mlp(c, dtype, device);
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, int layerIndex, long past, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(self_attn.Forward(input_layernorm.forward(x), cos, sin, layerIndex, past, cache));
        var output = h.Plus(mlp.forward(post_attention_layernorm.forward(h)));
        return output.MoveToOuterDisposeScope();
    }
}
