using System.Diagnostics;
using QuantTune.Evaluation;
using QuantTune.Models.Loading;
using QuantTune.Quantization.Activations;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Models;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Reports;

/// <summary>One scheme of a report: a weight quantizer, optionally with 8-bit activations.</summary>
public sealed record ReportScheme(string Name, IQuantizer? Weights, ActivationMode? Activations = null);

/// <summary>One measured row: cost (bits per weight including constants, model size) and quality (weight MSE, perplexity).</summary>
public sealed record ReportRow(string Scheme, double BitsPerWeight, double WeightMse, long ModelBytes, double Perplexity, double Seconds);

/// <summary>
/// Quantizes a model with each scheme in turn (from a fresh load each time) and measures what the
/// quantization guide talks about: bits per weight including constants, weight MSE over the
/// quantized layers, the model's size, and perplexity on a held-out text.
/// </summary>
public static class QuantizationReport
{
    public static IReadOnlyList<ReportRow> Run(string modelDirectory, IReadOnlyList<ReportScheme> schemes, IReadOnlyList<int> evalIds,
        IReadOnlyList<long[]> calibration, int window, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        var rows = new List<ReportRow>();
        long done = 0, total = schemes.Count + 1;
        {
            var sw = Stopwatch.StartNew();
            using var pm = PretrainedModel.Load(modelDirectory);
            long bytes = ParameterBytes(pm, stored: true);
            var ppl = PerplexityEvaluator.Evaluate(pm.Model, evalIds, window, cancel: cancel);
            rows.Add(new ReportRow($"{StoredName(pm)} (original)", StoredBits(pm), 0, bytes, ppl.Perplexity, sw.Elapsed.TotalSeconds));
            progress?.Report((++done, total));
        }
        foreach (var scheme in schemes)
        {
            cancel.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            using var pm = PretrainedModel.Load(modelDirectory);
            var stored = StoredDType(pm);
            double bits, mse;
            long quantizedBytes, quantizedElements;
            if (scheme.Activations is ActivationMode mode)
            {
                var before = WeightsOfLinears(pm);
                W8A8.Apply(pm.Model, scheme.Weights!, mode, calibration);
                (bits, mse, quantizedBytes, quantizedElements) = Measure(pm, before);
            }
            else
            {
                var result = ModelQuantizer.Quantize(pm.Model, scheme.Weights!, stored);
                (bits, mse, quantizedBytes, quantizedElements) = (result.BitsPerWeight, result.WeightMse, result.QuantizedWeightBytes, result.QuantizedElements);
            }
            long bytes = ParameterBytes(pm, stored: true) + quantizedBytes;
            var ppl = PerplexityEvaluator.Evaluate(pm.Model, evalIds, window, cancel: cancel);
            rows.Add(new ReportRow(scheme.Name, bits, mse, bytes, ppl.Perplexity, sw.Elapsed.TotalSeconds));
            progress?.Report((++done, total));
        }
        return rows;
    }

    /// <summary>Bytes of the floating-point parameters left (in the stored dtype when <paramref name="stored"/>).</summary>
    static long ParameterBytes(PretrainedModel pm, bool stored) =>
        pm.Model.parameters().Sum(p => p.numel() * (stored ? StoredBits(pm) / 8 : p.ElementSize));

    static ScalarType StoredDType(PretrainedModel pm) => pm.Config.StoredScalarType;
    static int StoredBits(PretrainedModel pm) => StoredDType(pm) == ScalarType.Float32 ? 32 : 16;
    static string StoredName(PretrainedModel pm) => Runtime.TorchRuntime.Name(StoredDType(pm));

    /// <summary>Copies of the linear weights (the caller disposes them); the detached views are freed here.</summary>
    static Dictionary<string, Tensor> WeightsOfLinears(PretrainedModel pm)
    {
        using var scope = NewDisposeScope();
        return pm.Model.named_modules().Where(m => m.module is QuantTune.Models.Layers.Linear && m.name != "lm_head")
            .ToDictionary(m => m.name, m => ((QuantTune.Models.Layers.Linear)m.module).weight.detach().clone().DetachFromDisposeScope());
    }

    static (double Bits, double Mse, long Bytes, long Elements) Measure(PretrainedModel pm, Dictionary<string, Tensor> before)
    {
        double se = 0;
        long bytes = 0, elements = 0;
        foreach (var (name, module) in pm.Model.named_modules())
        {
            if (module is not ActivationQuantizedLinear layer) continue;
            using var scope = NewDisposeScope();
            se += (layer.Weight.Dequantize() - before[name]).Power(2).sum(ScalarType.Float64).item<double>();
            bytes += layer.Weight.StorageBytes;
            elements += layer.Weight.ElementCount;
        }
        foreach (var t in before.Values) t.Dispose();
        return (bytes * 8.0 / elements, se / elements, bytes, elements);
    }
}
