using QuantTune.Diagnostics;
using QuantTune.Runtime;
using Linear = QuantTune.Models.Layers.Linear;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// Inference-only BitNet b1.58 linear layer: the weight lives only as 2-bit packed trits
/// (<see cref="TernaryPacking.TwoBitInterleaved"/>) and γ, and the forward pass is
/// <see cref="TernaryKernel"/> (int8 per-token activations, additions and subtractions only):
/// the same function as <see cref="BitLinear158"/>, to float rounding, at 2 bits a weight.
/// Runs on the CPU; an input elsewhere is brought to the CPU and the output sent back.
/// </summary>
public sealed class PackedBitLinear158 : nn.Module<Tensor, Tensor>
{
    public TernaryPacked Weight { get; }
    public float Gamma { get; }
    public readonly Parameter? bias;

    public long InFeatures => Weight.Columns;
    public long OutFeatures => Weight.Rows;

    /// <summary>Packed trits, γ and the frozen bias.</summary>
    public long StorageBytes => Weight.StorageBytes + (bias is null ? 0 : bias.numel() * bias.ElementSize);

    PackedBitLinear158(TernaryPacked weight, float gamma, Tensor? bias) : base(nameof(PackedBitLinear158))
    {
        Weight = weight;
        Gamma = gamma;
        if (bias is not null) this.bias = new Parameter(bias.detach().clone().DetachFromDisposeScope(), requires_grad: false); // owned by this layer, not by a dispose scope its builder runs in
        RegisterComponents();
    }

    /// <summary>Packs a trained layer: the codes and γ of its latent weight (<see cref="BitNetWeights.Ternary"/>).</summary>
    public static PackedBitLinear158 From(BitLinear158 layer)
    {
        TernaryPacked packed;
        float gamma;
        using (var scope = NewDisposeScope())
        {
            var (codes, g) = layer.QuantizeCodes(layer.weight.detach());
            (packed, gamma) = (TernaryPacked.Pack(codes, TernaryPacking.TwoBitInterleaved), g.to(ScalarType.Float32, CPU).item<float>());
        }
        return new PackedBitLinear158(packed, gamma, layer.bias);
    }

    /// <summary>
    /// Packs a layer of a saved BitNet b1.58 checkpoint, whose weight already holds codes·γ: γ is
    /// max|W| and every element must be −γ, 0 or γ (else the layer at <paramref name="path"/> is refused).
    /// </summary>
    public static PackedBitLinear158 FromTernary(Linear linear, string path)
    {
        TernaryPacked packed;
        float gamma;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var w = linear.weight.detach().to(ScalarType.Float32, CPU);
            var g = w.abs().max().ClampedMin(BitNetWeights.Epsilon);
            var codes = (w / g).round();
            if (!(codes * g).eq(w).all().item<bool>())
                throw new QuantTuneException($"{path}: the weight holds values other than −γ, 0 and γ (γ = {g.item<float>()}); it is not a BitNet b1.58 layer");
            (packed, gamma) = (TernaryPacked.Pack(codes, TernaryPacking.TwoBitInterleaved), g.item<float>());
        }
        return new PackedBitLinear158(packed, gamma, linear.bias);
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = TernaryKernel.Apply(input, Weight, Gamma);
        if (bias is not null) y = y.Plus(bias.to_type(ScalarType.Float32).cpu());
        return y.to(input.dtype, input.device).MoveToOuterDisposeScope();
    }
}
