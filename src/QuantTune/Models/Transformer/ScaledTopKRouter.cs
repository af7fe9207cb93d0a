using QuantTune.Models.Config;
using QuantTune.Models.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Gemma 4's router (the checkpoint's <c>router</c>; transformers' Gemma4TextRouter): the hidden states RMS-normalised
/// without a weight, times <c>scale</c> [hidden] and hidden_size^-0.5, scored by <c>proj</c> (a <see cref="TopKRouter"/>:
/// weight [experts, hidden], the softmax in fp32, the top k renormalised to sum to one), each chosen expert's weight then
/// times its <c>per_expert_scale</c>. Like <see cref="TopKRouter"/> none of it is a <see cref="Linear"/>: it stays out
/// of adapter targets and of 4-bit quantization.
/// </summary>
public sealed class ScaledTopKRouter : nn.Module
{
    public TopKRouter proj;
    /// <summary>The per-feature factor on the normalised input (initialised to 1).</summary>
    public readonly TorchSharp.Modules.Parameter scale;
    /// <summary>Each expert's factor on its routing weight (initialised to 1).</summary>
    public readonly TorchSharp.Modules.Parameter per_expert_scale;
    readonly double _eps, _rootSize;

    public ScaledTopKRouter(ModelConfig c, MixtureOfExperts moe, ScalarType dtype, Device device) : base(nameof(ScaledTopKRouter))
    {
        proj = new TopKRouter(c, moe, dtype, device);
        scale = new TorchSharp.Modules.Parameter(ones([c.HiddenSize], dtype, device));
        per_expert_scale = new TorchSharp.Modules.Parameter(ones([moe.NumExperts], dtype, device));
        _eps = c.RmsNormEps;
        _rootSize = 1.0 / Math.Sqrt(c.HiddenSize);
        RegisterComponents();
    }

    /// <summary>The routing weights [tokens, k] and the chosen experts [tokens, k] (int64) of hidden states [tokens, hidden].</summary>
    public (Tensor Weights, Tensor Experts) Route(Tensor x)
    {
        using var scope = NewDisposeScope();
        var scores = proj.forward((RmsNorm.Unscaled(x, _eps) * scale).Times(_rootSize));
        var (weights, experts) = proj.Route(scores, x.dtype);
        var scaled = weights * per_expert_scale.index_select(0, experts.reshape(-1)).reshape(experts.shape);
        return (scaled.MoveToOuterDisposeScope(), experts.MoveToOuterDisposeScope());
    }
}
