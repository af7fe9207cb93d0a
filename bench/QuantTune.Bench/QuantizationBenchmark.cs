using QuantTune.Quantization;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Bench;

/// <summary>
/// Quantize and dequantize throughput (GB/s of fp32 weights) per scheme, next to a plain copy
/// of the same tensor (the memory-bandwidth ceiling for a pass that reads and writes it), and
/// the memory a QuantizedLinear really holds and allocates in backward.
/// </summary>
public static class QuantizationBenchmark
{
    public static object Run(int rows, int columns)
    {
        using var w = randn(rows, columns) * 0.02;
        double gb = w.numel() * 4 / 1e9;
        double copy = Timing.Median(5, () => w.clone().Dispose());
        var schemes = new (string Name, SchemeOptions Options)[]
        {
            ("nf4 block64", new("nf4", Block: 64)),
            ("nf4 block64 double-quant", new("nf4", Block: 64, DoubleQuant: true)),
            ("fp4 block64", new("fp4", Block: 64)),
            ("int8 absmax channel", new("int8", Granularity: "channel")),
            ("int4 absmax block64", new("int4", Block: 64)),
            ("int4 zero-point block64", new("int4", Block: 64, ZeroPoint: true)),
            ("int3 absmax block64", new("int3", Block: 64)),
        };
        var results = new List<object>();
        foreach (var (name, options) in schemes)
        {
            var quantizer = QuantizationSchemes.Create(options);
            QuantizedTensor? q = null;
            double quantize = Timing.Median(3, () => { q?.Dispose(); q = quantizer.Quantize(w); });
            double dequantize = Timing.Median(3, () => q!.Dequantize().Dispose());
            results.Add(new
            {
                scheme = name,
                bits_per_weight = Math.Round(q!.BitsPerWeight, 4),
                quantize_s = Math.Round(quantize, 4),
                quantize_gb_per_s = Math.Round(gb / quantize, 2),
                dequantize_s = Math.Round(dequantize, 4),
                dequantize_gb_per_s = Math.Round(gb / dequantize, 2),
                dequantize_vs_copy = Math.Round(dequantize / copy, 1),
            });
            q.Dispose();
        }
        return new
        {
            weight = new[] { rows, columns },
            fp32_gb = Math.Round(gb, 3),
            copy_s = Math.Round(copy, 4),
            copy_gb_per_s = Math.Round(gb / copy, 2),
            schemes = results,
            quantized_linear_memory = LinearMemory(rows, columns),
        };
    }

    /// <summary>
    /// Peak resident memory during a QuantizedLinear forward+backward on an 8192 × 8192 weight
    /// (256 MiB in fp32), from Linux's VmHWM after resetting it (/proc/self/clear_refs).
    /// </summary>
    static object LinearMemory(int rows, int columns)
    {
        // As the trainer measures: tensors of 64 KiB or more get their own mappings, so RSS follows live tensors.
        using var tracking = QuantTune.Diagnostics.ProcessMemory.TrackLargeAllocations();
        using var scope = NewDisposeScope();
        var w = randn(rows, columns) * 0.02;
        var q = QuantizationSchemes.Create(new("nf4", Block: 64, DoubleQuant: true)).Quantize(w);
        long denseBytes = w.numel() * 4;
        w.Dispose();
        using var layer = new QuantizedLinear(q, null);
        var x = randn(4, 64, columns).requires_grad_(true);
        layer.forward(x).sum().backward(); // warm-up: allocator caches, thread pools
        x.grad!.zero_();
        QuantTune.Diagnostics.ProcessMemory.Trim();
        long baseline = QuantTune.Diagnostics.ProcessMemory.Resident!.Value;
        QuantTune.Diagnostics.ProcessMemory.ResetPeak();
        var y = layer.forward(x);
        var forwardPeak = QuantTune.Diagnostics.ProcessMemory.Peak!.Value - baseline;
        y.sum().backward();
        var peak = QuantTune.Diagnostics.ProcessMemory.Peak!.Value - baseline;
        return new
        {
            weight_fp32_bytes = denseBytes,
            quantized_bytes = q.StorageBytes,
            quantized_bits_per_weight = Math.Round(q.BitsPerWeight, 4),
            input = "4 × 64 × " + columns,
            chunk_elements = DequantizingMatmul.MaxChunkElements,
            peak_rss_growth_forward_bytes = forwardPeak,
            peak_rss_growth_forward_backward_bytes = peak,
            peak_growth_vs_dense_weight = Math.Round((double)peak / denseBytes, 3),
        };
    }
}
