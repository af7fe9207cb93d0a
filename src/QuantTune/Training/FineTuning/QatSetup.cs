using QuantTune.Diagnostics;
using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Models.Transformer;
using QuantTune.Qat;
using QuantTune.Quantization;
using static TorchSharp.torch;

namespace QuantTune.Training.FineTuning;

/// <summary>
/// Quantization-aware training for <c>finetune --qat</c>: every linear layer but the LM head
/// sees its weights through a fake quantizer (straight-through estimator) while the latent
/// full-precision weights train. <c>int4</c>/<c>int8</c> are absmax per block of 64, as the
/// post-training baseline <c>quantize --scheme intK --block 64</c>; <c>nf4</c> is NF4 block 64;
/// <c>bitnet</c> and <c>bitnet158</c> are BitNet's binary and ternary layers with 8-bit
/// per-token activations.
/// </summary>
public static class QatSetup
{
    public const string Kinds = "int4, int8, nf4, bitnet, bitnet158";

    public static IReadOnlyList<string> Apply(CausalLM model, string kind)
    {
        switch (kind.Trim().ToLowerInvariant())
        {
            case "bitnet": return BitNetConverter.Convert(model, BitNetKind.BitNet);
            case "bitnet158": return BitNetConverter.Convert(model, BitNetKind.BitNet158);
            case "int4" or "int8" or "nf4":
                var quantizer = QuantizationSchemes.Create(new SchemeOptions(kind, Block: 64));
                return ModuleSurgery.ReplaceLinears(model, (path, linear) => path == "lm_head" ? null : new QatLinear(linear, new QatOptions(Scheme: quantizer)));
            default:
                throw new QuantTuneException($"--qat {kind}: expected one of {Kinds}");
        }
    }

    /// <summary>
    /// Replaces each fake-quantized layer by a plain linear layer holding its quantized weights
    /// (values on the quantization grid), so the model saves and exports as an ordinary
    /// checkpoint. BitNet's activation quantization is not kept by this step.
    /// </summary>
    public static void Bake(CausalLM model)
    {
        var layers = model.named_modules().Where(m => m.module is FakeQuantLinear).Select(m => (m.name, (FakeQuantLinear)m.module)).ToList();
        using var _ = no_grad();
        foreach (var (path, q) in layers)
        {
            var plain = new Linear(q.InFeatures, q.OutFeatures, q.bias is not null, q.weight.dtype, q.weight.device);
            using (var w = HardQuantized(q)) plain.weight.copy_(w);
            if (q.bias is not null) plain.bias!.copy_(q.bias);
            ModuleSurgery.Replace(model, path, plain);
        }
    }

    /// <summary>
    /// The quantized weight itself. The forward pass computes it as w + (q − w).detach() for the
    /// straight-through estimator, which floating-point rounding leaves a hair off q; this is q.
    /// </summary>
    static Tensor HardQuantized(FakeQuantLinear layer)
    {
        using var scope = NewDisposeScope();
        var w = layer.weight.detach();
        Tensor q = layer switch
        {
            BitLinear158 => Scaled(BitNetWeights.Ternary(w)),
            BitLinear => Scaled(BitNetWeights.Binary(w)),
            QatLinear { Options.Scheme: { } scheme } => scheme.Quantize(w).Dequantize(w.dtype),
            _ => layer.QuantizeWeight(),
        };
        return q.MoveToOuterDisposeScope();
    }

    static Tensor Scaled((Tensor Codes, Tensor Scale) t) => t.Codes.to_type(ScalarType.Float32) * t.Scale;
}
