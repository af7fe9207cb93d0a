using QuantTune.Models.Layers;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// The BitNet layer shape shared by <see cref="BitLinear"/> and <see cref="BitLinear158"/>: weights
/// codes·scale from a per-tensor weight quantizer (<see cref="QuantizeCodes"/>, the only part that
/// differs), 8-bit per-token absmax activations, both with the plain STE (as the reference
/// implementation: w + (q(w) − w).detach()). Training updates the latent full-precision weight.
/// </summary>
public abstract class BitNetLinear : FakeQuantLinear
{
    protected BitNetLinear(string name, Linear linear) : base(name, linear) { }

    /// <summary>The weight quantizer without gradients: codes (same dtype as W) and the 0-d scale.</summary>
    public abstract (Tensor Codes, Tensor Scale) QuantizeCodes(Tensor w);

    public override Tensor QuantizeWeight()
    {
        using var scope = NewDisposeScope();
        return FakeQuant.Ste(weight, HardQuantizedWeight()).MoveToOuterDisposeScope();
    }

    public override Tensor HardQuantizedWeight()
    {
        using var scope = NewDisposeScope();
        var (codes, scale) = QuantizeCodes(weight.detach());
        return (codes * scale).MoveToOuterDisposeScope();
    }

    public override Tensor QuantizeInput(Tensor input) => FakeQuant.PerToken8Bit(input);
}
