using System.Runtime.InteropServices;
using QuantTune.Diagnostics;
using QuantTune.Training.Memory;

namespace QuantTune.Tests.Diagnostics;

/// <summary>
/// The trainer's step measurement counts live bytes, not what the allocator keeps: memory freed before the
/// step and reused during it is counted once, when it is in use. Reads process-wide memory, so runs alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class StepMemoryProbeTests
{
    private const int MiB = 1 << 20;

    [Fact]
    public void GrowthAndPeakFollowLiveBlocksEvenWhenFreedHeapMemoryIsReused()
    {
        if (ProcessMemory.LiveHeapBytes is null) return; // glibc 2.33+ only

        // Leave 32 MiB of freed blocks in the heap for the measured allocations to reuse: RSS would not see them.
        var blocks = Allocate(32);
        Free(blocks);

        using var probe = new StepMemoryProbe();
        Assert.True(probe.Begin());
        blocks = Allocate(32);
        long full = probe.Growth();
        Free(blocks.Take(16));
        long half = probe.Growth();
        Free(blocks.Skip(16));
        long peak = probe.End();

        Assert.InRange(full, 31 * MiB, 34 * MiB);
        Assert.InRange(half, 15 * MiB, 18 * MiB);
        Assert.InRange(peak, full, 34 * MiB);
        Assert.False(ProcessMemory.TrackingLargeAllocations);
    }

    [Fact]
    public void ACudaStepIsMeasuredOnTheGpuOrNotAtAllNeverInHostMemory()
    {
        using var probe = new StepMemoryProbe(new TorchSharp.torch.Device(TorchSharp.DeviceType.CUDA, 0));
        if (GpuMemory.UsedBytes(0) is not null) return; // a machine with an NVIDIA driver: measured on the GPU
        // Without NVML the host's memory would be a wrong answer for a CUDA step: the probe declines and says why.
        Assert.False(probe.Begin());
        Assert.Contains("GPU memory not measured", probe.Describe(3));
        Assert.DoesNotContain("RSS", probe.Describe(3));
        Assert.False(ProcessMemory.TrackingLargeAllocations);
    }

    [Fact]
    public void AHostStepDescribesWhatItMeasured()
    {
        using var probe = new StepMemoryProbe(TorchSharp.torch.CPU);
        Assert.Contains("no step was trained", probe.Describe(null));
        if (!ProcessMemory.Available) return;
        Assert.True(probe.Begin());
        probe.End();
        Assert.Contains("measured on step 2", probe.Describe(2));
    }

    static unsafe List<IntPtr> Allocate(int mebibytes)
    {
        var blocks = new List<IntPtr>();
        for (int i = 0; i < mebibytes; i++)
        {
            IntPtr block = Marshal.AllocHGlobal(MiB);
            new Span<byte>((void*)block, MiB).Fill(1); // touched, as a tensor's memory is
            blocks.Add(block);
        }

        return blocks;
    }

    static void Free(IEnumerable<IntPtr> blocks)
    {
        foreach (IntPtr block in blocks) Marshal.FreeHGlobal(block);
    }
}
