using QuantTune.Diagnostics;
using QuantTune.Quantization.FourBit;
using QuantTune.Quantization.Layers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace QuantTune.Tests.Quantization;

/// <summary>
/// A QuantizedLinear forward + backward on an 8192 × 8192 NF4 weight (256 MiB in fp32) never
/// holds a weight-sized tensor: measured as the peak RSS growth, with every tensor of 64 KiB or
/// more in its own mapping so that RSS follows the live tensors.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuantizedLinearMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void BackwardAllocatesNoWeightSizedTensor()
    {
        if (!ProcessMemory.Available) return; // needs Linux /proc
        using var tracking = ProcessMemory.TrackLargeAllocations();
        using var scope = NewDisposeScope();
        const long rows = 8192, columns = 8192;
        QuantTune.Quantization.QuantizedTensor q;
        using (var w = randn(rows, columns) * 0.02) q = new FourBitQuantizer(FourBitType.NF4, 64, true).Quantize(w, ScalarType.Float32);
        using var layer = new QuantizedLinear(q, null);
        var x = randn(2, 16, columns).requires_grad_(true);
        layer.forward(x).sum().backward(); // warm-up
        // The least growth of three passes: memory the rest of the process takes once (a pool of the BLAS
        // library, another test's leftover work) shows in one pass, a weight-sized tensor in every one.
        long growth = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            x.grad!.zero_();
            ProcessMemory.Trim();
            long baseline = ProcessMemory.Resident!.Value;
            ProcessMemory.ResetPeak();
            using (var y = layer.forward(x).sum()) y.backward();
            growth = Math.Min(growth, ProcessMemory.Peak!.Value - baseline);
        }
        long dense = rows * columns * 4;
        output.WriteLine($"peak RSS growth {growth / 1048576.0:F1} MiB for a {dense / 1048576.0:F0} MiB dense weight ({(double)growth / dense:P1}); stored {q.StorageBytes / 1048576.0:F1} MiB");
        Assert.True(growth < dense / 2, $"forward + backward grew RSS by {growth} bytes; the dense weight is {dense}");
    }
}
