using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// BitNet b1.58: ternary weights {−1, 0, 1}·γ with γ = mean|W| per tensor
/// (<see cref="BitNetWeights.Ternary"/>), 8-bit per-token absmax activations; the rest is
/// <see cref="BitNetLinear"/>.
/// </summary>
public sealed class BitLinear158 : BitNetLinear
{
    public BitLinear158(Linear linear) : base(nameof(BitLinear158), linear) => RegisterComponents();

    public override (Tensor Codes, Tensor Scale) QuantizeCodes(Tensor w) => BitNetWeights.Ternary(w);
}
