using QuantTune.Models.Layers;
using QuantTune.Runtime;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Models;

/// <summary>
/// Quantizes a model's linear layers one at a time, each into a <see cref="QuantizedLinear"/> holding
/// only the packed weight, and keeps the tally of what it did. <see cref="ModelQuantizer"/> runs it over
/// a loaded model; <see cref="QuantTune.Models.Loading.PretrainedModel"/> runs it while loading, layer by
/// layer, so the full-precision model never exists whole.
/// </summary>
public sealed class LayerQuantizer
{
    readonly IQuantizer _quantizer;
    readonly ScalarType _originalDType;
    readonly HashSet<string> _skip;
    readonly List<string> _layers = [];
    long _originalBytes, _quantizedBytes, _elements;
    double _squaredError;

    /// <param name="quantizer">The scheme.</param>
    /// <param name="originalDType">The dtype the weights came in (recorded for bitsandbytes; bf16 for most checkpoints).</param>
    /// <param name="skip">Layer paths, or last path segments, left in floating point (by default the LM head, as bitsandbytes and transformers leave it).</param>
    /// <param name="measureError">Whether to dequantize each layer again to add its squared error to <see cref="Result"/>'s weight MSE (a layer's worth of time and memory more).</param>
    public LayerQuantizer(IQuantizer quantizer, ScalarType originalDType, IEnumerable<string>? skip = null, bool measureError = true)
    {
        _quantizer = quantizer;
        _originalDType = originalDType;
        _skip = (skip ?? ModelQuantizer.DefaultSkip).ToHashSet();
        MeasureError = measureError;
    }

    /// <summary>The frozen backbone of QLoRA and QST: NF4 in blocks of 64 with double quantization (bitsandbytes' QLoRA defaults), bf16 recorded as the original dtype.</summary>
    public static LayerQuantizer Nf4DoubleQuant(bool measureError = true) =>
        new(new FourBitQuantizer(FourBitType.NF4, 64, doubleQuant: true), ScalarType.BFloat16, measureError: measureError);

    /// <summary>The loader's quantizer for a fine-tuning method's backbone: <see cref="Nf4DoubleQuant"/> without error measurement where the method quantizes it (QLoRA, QST), else none.</summary>
    public static LayerQuantizer? ForBackbone(bool quantized) => quantized ? Nf4DoubleQuant(measureError: false) : null;

    public bool MeasureError { get; }

    /// <summary>Whether the layer at <paramref name="path"/> is quantized (not skipped).</summary>
    public bool Takes(string path) => !_skip.Contains(path) && !_skip.Contains(path.Split('.')[^1]);

    /// <summary>The layer's quantized replacement, its storage where the layer's weight is; the layer itself is left to the caller.</summary>
    public QuantizedLinear Quantize(string path, Linear linear)
    {
        using var scope = NewDisposeScope();
        var weight = linear.weight.detach();
        var q = _quantizer is FourBitQuantizer fb ? fb.Quantize(weight, _originalDType) : _quantizer.Quantize(weight);
        if (MeasureError) _squaredError += (q.Dequantize() - weight.to_type(ScalarType.Float32)).Power(2).sum(ScalarType.Float64).item<double>();
        _originalBytes += weight.numel() * (_originalDType == ScalarType.Float32 ? 4 : 2);
        _quantizedBytes += q.StorageBytes;
        _elements += weight.numel();
        foreach (var t in q.Tensors.Values) t.DetachFromDisposeScope();
        _layers.Add(path);
        return new QuantizedLinear(q, linear.bias);
    }

    /// <summary>The layers quantized so far, their bytes before and after, and (when measured) the weights' mean squared error.</summary>
    public ModelQuantizer.Result Result =>
        new([.. _layers], _originalBytes, _quantizedBytes, !MeasureError || _elements == 0 ? 0 : _squaredError / _elements, _elements);
}
