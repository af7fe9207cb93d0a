using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// BitNet (1-bit): weights sign(W − mean W)·β with β = mean|W| (<see cref="BitNetWeights.Binary"/>),
/// 8-bit per-token absmax activations; the rest is <see cref="BitNetLinear"/>.
/// </summary>
public sealed class BitLinear : BitNetLinear
{
    public BitLinear(Linear linear) : base(nameof(BitLinear), linear) => RegisterComponents();

    public override (Tensor Codes, Tensor Scale) QuantizeCodes(Tensor w) => BitNetWeights.Binary(w);
}
