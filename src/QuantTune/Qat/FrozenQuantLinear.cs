using Linear = QuantTune.Models.Layers.Linear;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// A frozen linear layer seen through a fake quantizer: the base of QAT with an adapter, and a
/// QAT checkpoint at inference. The base does not train, so its quantized weight is computed once
/// and written over the full-precision one (no extra memory), and the forward pass is a plain
/// matmul with it, after per-token fake quantization of the input when
/// <see cref="ActivationBits"/> is set. Parameter names stay the original layer's
/// ("…q_proj.weight"); nothing requires grad.
/// </summary>
public sealed class FrozenQuantLinear : FakeQuantLinear
{
    public int? ActivationBits { get; }

    /// <summary>Takes over <paramref name="source"/>'s parameters, overwriting the weight with its hard-quantized value.</summary>
    public FrozenQuantLinear(FakeQuantLinear source, int? activationBits) : base(nameof(FrozenQuantLinear), source)
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
            weight.copy_(source.HardQuantizedWeight());
        ActivationBits = Freeze(activationBits);
    }

    /// <summary>Freezes a linear layer whose weight already holds quantized values (a QAT checkpoint's), used as it is.</summary>
    public FrozenQuantLinear(Linear linear, int? activationBits) : base(nameof(FrozenQuantLinear), linear) =>
        ActivationBits = Freeze(activationBits);

    int? Freeze(int? activationBits)
    {
        if (activationBits is int bits) FakeQuant.MaxCode(bits);
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
        RegisterComponents();
        return activationBits;
    }

    public override Tensor QuantizeWeight() => weight.detach();

    public override Tensor QuantizeInput(Tensor input) => ActivationBits is int bits ? FakeQuant.PerToken(input, bits) : input;
}
