using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// BitNet b1.58: ternary weights {−1, 0, 1}·γ with γ = mean|W| per tensor, 8-bit per-token
/// absmax activations, both with the plain STE (as the reference implementation:
/// w + (q(w) − w).detach()). Training updates the latent full-precision weight.
/// </summary>
public sealed class BitLinear158 : FakeQuantLinear
{
    public BitLinear158(Linear linear) : base(nameof(BitLinear158), linear) => RegisterComponents();

    public override Tensor QuantizeWeight()
    {
        using var scope = NewDisposeScope();
        var (codes, gamma) = BitNetWeights.Ternary(weight);
        return FakeQuant.Ste(weight, codes * gamma).MoveToOuterDisposeScope();
    }

    public override Tensor QuantizeInput(Tensor input) => FakeQuant.PerToken8Bit(input);
}
