using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// BitNet (1-bit): weights sign(W − mean W)·β with β = mean|W|, 8-bit per-token absmax
/// activations, both with the plain STE. Training updates the latent full-precision weight.
/// </summary>
public sealed class BitLinear : FakeQuantLinear
{
    public BitLinear(Linear linear) : base(nameof(BitLinear), linear) => RegisterComponents();

    public override Tensor QuantizeWeight()
    {
        using var scope = NewDisposeScope();
        var (codes, beta) = BitNetWeights.Binary(weight);
        return FakeQuant.Ste(weight, codes * beta).MoveToOuterDisposeScope();
    }

    public override Tensor QuantizeInput(Tensor input) => FakeQuant.PerToken8Bit(input);
}
