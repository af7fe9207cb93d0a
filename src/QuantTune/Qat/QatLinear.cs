using QuantTune.Diagnostics;
using Linear = QuantTune.Models.Layers.Linear;
using QuantTune.Quantization;
using QuantTune.Runtime;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// What <see cref="QatLinear"/> fake-quantizes. Either <see cref="Scheme"/> (any
/// <see cref="IQuantizer"/>, plain STE) or symmetric INT-<see cref="Bits"/> with
/// <see cref="Granularity"/> (or, when <see cref="Block"/> &gt; 0, one scale per block of that many
/// consecutive weights of a row), clipping and an optional learnable scale.
/// <see cref="ActivationBits"/> adds per-token absmax fake quantization of the input.
/// </summary>
public sealed record QatOptions(IQuantizer? Scheme = null, int Bits = 4,
    QuantGranularity Granularity = QuantGranularity.PerRow, bool Clip = true, bool LearnableScale = false,
    int? ActivationBits = null, int Block = 0);

/// <summary>
/// Full quantization-aware training of one linear layer: the latent weights are trained, the
/// forward pass sees their fake-quantized values. A learnable scale is a parameter named
/// "weight_scale", initialised to the absmax scale ([out, 1] per row, [out, in/block, 1] per block).
/// </summary>
public sealed class QatLinear : FakeQuantLinear
{
    public readonly Parameter? weight_scale;

    public QatOptions Options { get; }

    public QatLinear(Linear linear, QatOptions options) : base(nameof(QatLinear), linear)
    {
        Options = options;
        if (options.Scheme is null) FakeQuant.MaxCode(options.Bits);
        if (options.ActivationBits is int a) FakeQuant.MaxCode(a);
        if (options.Block > 0 && (options.Scheme is not null || InFeatures % options.Block != 0))
            throw new QuantTuneException($"QAT: block {options.Block} needs symmetric intK and an input width that is a multiple of it (this layer takes {InFeatures})");
        if (options.LearnableScale)
        {
            if (options.Scheme is not null)
                throw new QuantTuneException($"QAT: a learnable scale applies to symmetric intK, not to scheme {options.Scheme.Scheme}");
            weight_scale = new Parameter(FakeQuant.AbsmaxScale(Blocked(weight), options.Bits, Granularity));
        }
        RegisterComponents();
    }

    QuantGranularity Granularity => Options.Block > 0 ? QuantGranularity.PerRow : Options.Granularity;

    /// <summary>The weight as [out, in/block, block] when blocked, so that per-row scales are per block.</summary>
    Tensor Blocked(Tensor w) => Options.Block > 0 ? w.reshape(OutFeatures, InFeatures / Options.Block, Options.Block) : w;

    public override Tensor QuantizeWeight()
    {
        if (Options.Scheme is { } scheme) return FakeQuant.Scheme(weight, scheme);
        using var scope = NewDisposeScope();
        return FakeQuant.SymmetricInt(Blocked(weight), Options.Bits, Granularity, Options.Clip, weight_scale)
            .reshape(weight.shape).MoveToOuterDisposeScope();
    }

    public override Tensor HardQuantizedWeight()
    {
        if (Options.Scheme is { } scheme) return FakeQuant.RoundTrip(weight, scheme);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = Blocked(weight.detach());
        var s = weight_scale?.detach() ?? FakeQuant.AbsmaxScale(w, Options.Bits, Granularity);
        int qmax = FakeQuant.MaxCode(Options.Bits);
        return ((w / s).Clamped(-qmax, qmax).round() * s).reshape(weight.shape).MoveToOuterDisposeScope();
    }

    public override Tensor QuantizeInput(Tensor input) =>
        Options.ActivationBits is int bits ? FakeQuant.PerToken(input, bits) : input;
}
