using QuantTune.IO;

namespace QuantTune.Models.Config;

/// <summary>
/// A mixture of experts' shared expert (transformers' Qwen2MoeSparseMoeBlock: <c>mlp.shared_expert</c>,
/// a SwiGLU MLP of <see cref="IntermediateSize"/> that every token runs through beside its routed
/// experts). Its output is scaled per token by sigmoid(<c>mlp.shared_expert_gate</c>(x)), a Linear
/// hidden → 1 without bias, where <see cref="Gated"/>, and added to the routed experts' sum.
/// </summary>
public sealed record SharedExpert
{
    /// <summary>shared_expert_intermediate_size: the width of the shared expert's MLP.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Whether the shared expert's output is multiplied by sigmoid(shared_expert_gate(x)).</summary>
    public bool Gated { get; init; } = true;

    /// <summary>
    /// Qwen2MoeConfig's shared_expert_intermediate_size (default 5632); 0 means no shared expert (null).
    /// Errors name the file and the key.
    /// </summary>
    internal static SharedExpert? Read(JsonField f)
    {
        int width = f.OptionalInt("shared_expert_intermediate_size") ?? 5632;
        if (width < 0 || width > ModelDimensionLimits.MaxIntermediate)
            throw f.Invalid("shared_expert_intermediate_size", $"is {width}; expected 0 (no shared expert) to {ModelDimensionLimits.MaxIntermediate}");
        return width == 0 ? null : new SharedExpert { IntermediateSize = width };
    }
}
