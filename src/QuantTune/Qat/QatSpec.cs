using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Quantization;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>
/// A quantization-aware training setup: a <see cref="Kind"/> of quantizer, optional
/// <see cref="ActivationBits"/> and <see cref="LearnableScales"/>. Every linear layer but the LM head is seen through the
/// quantizer. <c>int4</c>/<c>int8</c> are absmax per block of 64 (the post-training baseline
/// <c>intK</c> scheme with blocks of 64; with learnable scales, one LSQ scale per block of 64);
/// <c>nf4</c> is NF4 block 64; <c>bitnet</c> and <c>bitnet158</c> are BitNet's binary and
/// ternary layers, whose activations are always 8-bit per token.
/// </summary>
public sealed record QatSpec
{
    public const string Kinds = "int4, int8, nf4, bitnet, bitnet158";
    public const int Block = 64;
    /// <summary>The layer kept in full precision, as in the BitNet papers.</summary>
    public const string Head = "lm_head";

    /// <summary>int4, int8, nf4, bitnet or bitnet158.</summary>
    public string Kind { get; }
    /// <summary>Per-token absmax fake quantization of every quantized layer's input (null: off; BitNet: 8).</summary>
    public int? ActivationBits { get; }
    /// <summary>intK weight scales trained by LSQ instead of recomputed from absmax.</summary>
    public bool LearnableScales { get; }

    public bool IsBitNet => Kind is "bitnet" or "bitnet158";

    /// <summary>Checks the combination; every message names the setting at fault (<see cref="InvalidSettingException"/>).</summary>
    public QatSpec(string kind, int? activationBits = null, bool learnableScales = false)
    {
        Kind = kind.Trim().ToLowerInvariant();
        if (Kind is not ("int4" or "int8" or "nf4" or "bitnet" or "bitnet158"))
            throw new InvalidSettingException("QatSpec.Kind", kind, $"expected one of {Kinds}");
        if (activationBits is int bits)
        {
            if (IsBitNet)
                throw new InvalidSettingException("QatSpec.ActivationBits", bits, $"QatSpec.Kind {Kind} already quantizes activations to 8 bits per token; the setting applies to int4, int8 and nf4");
            if (bits is < 2 or > 16) throw new InvalidSettingException("QatSpec.ActivationBits", bits, "expected 2 to 16 bits");
        }
        if (learnableScales && Kind is not ("int4" or "int8"))
            throw new InvalidSettingException("QatSpec.LearnableScales", null, $"applies to QatSpec.Kind int4 and int8 (symmetric absmax scales), not to {Kind}");
        ActivationBits = IsBitNet ? 8 : activationBits;
        LearnableScales = learnableScales;
    }

    /// <summary>
    /// A spec from the request's three fields, or null when <paramref name="kind"/> is null, in which
    /// case the other two must be unset.
    /// </summary>
    public static QatSpec? From(string? kind, int? activationBits, bool learnableScales)
    {
        if (kind is not null) return new QatSpec(kind, activationBits, learnableScales);
        if (activationBits is int bits) throw new InvalidSettingException("QatSpec.ActivationBits", bits, "needs QatSpec.Kind int4, int8 or nf4");
        if (learnableScales) throw new InvalidSettingException("QatSpec.LearnableScales", null, "needs QatSpec.Kind int4 or int8");
        return null;
    }

    /// <summary>
    /// For training the full weights: replaces every linear layer but the head by its fake-quantized
    /// layer, which takes over the original parameters. Returns the paths replaced.
    /// </summary>
    public IReadOnlyList<string> Apply(nn.Module model)
    {
        if (Kind == "bitnet158") return BitNetConverter.Convert(model, BitNetKind.BitNet158, [Head]);
        if (Kind == "bitnet") return BitNetConverter.Convert(model, BitNetKind.BitNet, [Head]);
        var options = LearnableScales
            ? new QatOptions(Bits: Kind == "int4" ? 4 : 8, LearnableScale: true, Block: Block, ActivationBits: ActivationBits)
            : new QatOptions(Scheme: QuantizationSchemes.Create(new SchemeOptions(Kind, Block: Block)), ActivationBits: ActivationBits);
        return ModuleSurgery.ReplaceLinears(model, (path, linear) => path == Head ? null : new QatLinear(linear, options));
    }

    /// <summary>
    /// For training an adapter on a frozen base seen through the quantizer (QAT with LoRA): replaces
    /// every linear layer but the head by a <see cref="FrozenQuantLinear"/> whose weight is quantized
    /// once, in place. The model must be full precision: a layer already quantized would be seen
    /// through a second quantizer. Returns the paths replaced.
    /// </summary>
    public IReadOnlyList<string> Freeze(nn.Module model)
    {
        if (LearnableScales)
            throw new InvalidSettingException("QatSpec.LearnableScales", null, "the base of an adapter is frozen, so its scales cannot train; train the full weights instead");
        var quantized = model.named_modules().FirstOrDefault(m => m.module is QuantizedLinear or FakeQuantLinear or PackedBitLinear158);
        if (quantized.module is not null)
            throw new QuantTuneException($"{quantized.name}: is already a quantized layer ({quantized.module.GetType().Name}); QAT {Kind} quantizes a full-precision model itself, so load the full-precision checkpoint");
        var paths = Apply(model);
        if (paths.Count == 0) throw new InvalidSettingException("QatSpec.Kind", Kind, "the model has no full-precision linear layer to quantize");
        foreach (var path in paths)
            ModuleSurgery.Replace(model, path, new FrozenQuantLinear((FakeQuantLinear)ModuleSurgery.Find(model, path), ActivationBits));
        return paths;
    }
}
