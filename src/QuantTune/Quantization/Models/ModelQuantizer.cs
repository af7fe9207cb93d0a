using QuantTune.Models;
using QuantTune.Models.Layers;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Models;

/// <summary>
/// Quantizes a model's linear layers in place: each becomes a <see cref="QuantizedLinear"/>
/// holding only the packed weight. The LM head stays in floating point (as bitsandbytes and
/// transformers leave it), as do embeddings and norms.
/// </summary>
public static class ModelQuantizer
{
    public static readonly string[] DefaultSkip = ["lm_head"];

    public sealed record Result(IReadOnlyList<string> Layers, long OriginalWeightBytes, long QuantizedWeightBytes, double WeightMse, long QuantizedElements)
    {
        public double BitsPerWeight => QuantizedWeightBytes * 8.0 / QuantizedElements;
    }

    /// <summary>
    /// The frozen backbone of QLoRA and QST: NF4 in blocks of 64 with double quantization
    /// (bitsandbytes' QLoRA defaults), recording bf16 as the weights' original dtype.
    /// </summary>
    public static Result QuantizeNf4DoubleQuant(nn.Module model) =>
        Quantize(model, new FourBitQuantizer(FourBitType.NF4, 64, doubleQuant: true), ScalarType.BFloat16);

    /// <param name="originalDType">the dtype the weights came in (recorded for bitsandbytes; bf16 for most checkpoints)</param>
    public static Result Quantize(nn.Module model, IQuantizer quantizer, ScalarType originalDType, IEnumerable<string>? skip = null,
        IProgress<(long Done, long Total)>? progress = null)
    {
        var skipped = (skip ?? DefaultSkip).ToHashSet();
        long total = model.named_modules().Count(m => m.module is Linear && !skipped.Contains(m.name)), done = 0;
        long originalBytes = 0, quantizedBytes = 0, elements = 0;
        double squaredError = 0;
        int storedElementSize = originalDType == ScalarType.Float32 ? 4 : 2;
        var replaced = new List<Linear>();
        var layers = ModuleSurgery.ReplaceLinears(model, (path, linear) =>
        {
            if (skipped.Contains(path) || skipped.Contains(path.Split('.')[^1])) return null;
            using var scope = NewDisposeScope();
            var weight = linear.weight.detach();
            var q = quantizer is FourBitQuantizer fb ? fb.Quantize(weight, originalDType) : quantizer.Quantize(weight);
            squaredError += (q.Dequantize() - weight.to_type(ScalarType.Float32)).Power(2).sum(ScalarType.Float64).item<double>();
            originalBytes += weight.numel() * storedElementSize;
            quantizedBytes += q.StorageBytes;
            elements += weight.numel();
            foreach (var t in q.Tensors.Values) t.DetachFromDisposeScope();
            var layer = new QuantizedLinear(q, linear.bias);
            replaced.Add(linear);
            progress?.Report((++done, total));
            return layer;
        });
        foreach (var old in replaced) old.Dispose();
        return new Result(layers, originalBytes, quantizedBytes, elements == 0 ? 0 : squaredError / elements, elements);
    }
}
