using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The shared expert's gate (the checkpoint's <c>mlp.shared_expert_gate</c>, weight [1, hidden], no
/// bias; transformers' Qwen2MoeSparseMoeBlock): sigmoid(x Wᵀ), one factor per token on the shared
/// expert's output. Like <see cref="TopKRouter"/> it is no <see cref="Layers.Linear"/>: left out of
/// adapter targets and of 4-bit quantization, so the mix of shared and routed experts stays as trained.
/// </summary>
public sealed class SharedExpertGate : nn.Module<Tensor, Tensor>
{
    public readonly TorchSharp.Modules.Parameter weight;

    public SharedExpertGate(ModelConfig c, ScalarType dtype, Device device) : base(nameof(SharedExpertGate))
    {
        weight = new TorchSharp.Modules.Parameter(empty([1, c.HiddenSize], dtype, device));
        RegisterComponents();
    }

    /// <summary>The factor [tokens, 1] of hidden states [tokens, hidden], in their dtype.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return nn.functional.sigmoid(nn.functional.linear(x, weight)).MoveToOuterDisposeScope();
    }
}
