using QuantTune.Diagnostics;
using Linear = QuantTune.Models.Layers.Linear;
using QuantTune.Quantization;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// What <see cref="QatLinear"/> fake-quantizes. Either <see cref="Scheme"/> (any
/// <see cref="IQuantizer"/>, plain STE) or symmetric INT-<see cref="Bits"/> with
/// <see cref="Granularity"/>, clipping and an optional learnable scale.
/// <see cref="QuantizeActivations"/> adds 8-bit per-token absmax on the input.
/// </summary>
public sealed record QatOptions(IQuantizer? Scheme = null, int Bits = 4,
    QuantGranularity Granularity = QuantGranularity.PerRow, bool Clip = true, bool LearnableScale = false,
    bool QuantizeActivations = false);

/// <summary>
/// Full quantization-aware training of one linear layer: the latent weights are trained, the
/// forward pass sees their fake-quantized values. A learnable scale is a parameter named
/// "weight_scale", initialised to the absmax scale.
/// </summary>
public sealed class QatLinear : FakeQuantLinear
{
    public readonly Parameter? weight_scale;

    public QatOptions Options { get; }

    public QatLinear(Linear linear, QatOptions options) : base(nameof(QatLinear), linear)
    {
        Options = options;
        if (options.Scheme is null) FakeQuant.MaxCode(options.Bits);
        if (options.LearnableScale)
        {
            if (options.Scheme is not null)
                throw new QuantTuneException($"QAT: a learnable scale applies to symmetric intK, not to scheme {options.Scheme.Scheme}");
            weight_scale = new Parameter(FakeQuant.AbsmaxScale(weight, options.Bits, options.Granularity));
        }
        RegisterComponents();
    }

    public override Tensor QuantizeWeight() => Options.Scheme is { } scheme
        ? FakeQuant.Scheme(weight, scheme)
        : FakeQuant.SymmetricInt(weight, Options.Bits, Options.Granularity, Options.Clip, weight_scale);

    public override Tensor QuantizeInput(Tensor input) =>
        Options.QuantizeActivations ? FakeQuant.PerToken8Bit(input) : input;
}
