using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Gated DeltaNet linear attention (transformers' Qwen3_5GatedDeltaNet): queries, keys and values
/// from one projection (<c>in_proj_qkv</c>) through a depthwise causal convolution and SiLU; per
/// value head a write strength β = sigmoid(in_proj_b(x)) and a decay g = −exp(A_log) ·
/// softplus(in_proj_a(x) + dt_bias); the <see cref="GatedDeltaRule"/>; each head's output normed
/// and gated by silu(in_proj_z(x)) (<see cref="GatedRmsNorm"/>); <c>out_proj</c>. With a cache the
/// layer keeps its convolution's last inputs and the rule's state, a fixed size whatever the
/// length: prefill runs the chunked rule, each decoded token the recurrent one.
/// </summary>
public sealed class GatedDeltaNet : nn.Module
{
    public nn.Module<Tensor, Tensor> in_proj_qkv, in_proj_z, in_proj_b, in_proj_a, out_proj;
    public CausalConv1d conv1d;
    public Parameter dt_bias, A_log;
    public GatedRmsNorm norm;
    readonly LinearAttention _c;

    public GatedDeltaNet(ModelConfig c, ScalarType dtype, Device device) : base(nameof(GatedDeltaNet))
    {
        _c = c.LinearAttention!;
        in_proj_qkv = new Linear(c.HiddenSize, _c.ConvDim, false, dtype, device);
        in_proj_z = new Linear(c.HiddenSize, _c.ValueDim, false, dtype, device);
        in_proj_b = new Linear(c.HiddenSize, _c.NumValueHeads, false, dtype, device);
        in_proj_a = new Linear(c.HiddenSize, _c.NumValueHeads, false, dtype, device);
        conv1d = new CausalConv1d(_c.ConvDim, _c.ConvKernel, dtype, device);
        dt_bias = new Parameter(ones([_c.NumValueHeads], dtype, device));
        A_log = new Parameter(zeros([_c.NumValueHeads], dtype, device));
        norm = new GatedRmsNorm(_c.ValueHeadDim, c.RmsNormEps, dtype, device);
        out_proj = new Linear(_c.ValueDim, c.HiddenSize, false, dtype, device);
        RegisterComponents();
    }

    /// <param name="x">[B, T, hidden]</param>
    /// <param name="cache">the state of earlier positions (updated), or null</param>
    public Tensor Forward(Tensor x, int layerIndex, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var (history, state) = cache?.StateOf(layerIndex) ?? (null, null);
        var (mixed, nextHistory) = conv1d.Forward(in_proj_qkv.forward(x).transpose(1, 2), history);
        mixed = nn.functional.silu(mixed).transpose(1, 2);
        var q = mixed.narrow(-1, 0, _c.KeyDim).reshape(b, t, _c.NumKeyHeads, _c.KeyHeadDim);
        var k = mixed.narrow(-1, _c.KeyDim, _c.KeyDim).reshape(b, t, _c.NumKeyHeads, _c.KeyHeadDim);
        var v = mixed.narrow(-1, 2 * _c.KeyDim, _c.ValueDim).reshape(b, t, _c.NumValueHeads, _c.ValueHeadDim);
        var beta = in_proj_b.forward(x).sigmoid();
        var a = in_proj_a.forward(x).to_type(ScalarType.Float32).Plus(dt_bias.to_type(ScalarType.Float32));
        var g = -(A_log.to_type(ScalarType.Float32).exp() * Softplus(a));
        var (output, nextState) = state is not null && t == 1
            ? GatedDeltaRule.Recurrent(q, k, v, g, beta, state)
            : GatedDeltaRule.Chunked(q, k, v, g, beta, state);
        cache?.SetState(layerIndex, nextHistory, nextState.detach(), t);
        var z = in_proj_z.forward(x).view(b, t, _c.NumValueHeads, _c.ValueHeadDim);
        var normed = norm.Forward(output, z).reshape(b, t, _c.ValueDim);
        return out_proj.forward(normed).MoveToOuterDisposeScope();
    }

    /// <summary>torch's softplus, log(1 + eˣ), linear past x = 20 as torch's threshold (the exponential's input clamped there, so no gradient meets an infinity).</summary>
    static Tensor Softplus(Tensor x) => where(x.GreaterThan(20.0), x, x.ClampedMax(20.0).exp().log1p());
}
