using System.Runtime.InteropServices;
using QuantTune.Diagnostics;
using QuantTune.Training;
using QuantTune.Training.FineTuning;

namespace QuantTune.Tests.Diagnostics;

/// <summary>
/// glibc's large-allocation tracking (64 KiB mmap threshold) is on only while a tracking scope is, and the
/// trainer does not use it. Reads process-wide allocator state, so runs alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed partial class LargeAllocationTrackingTests : IDisposable
{
    private const int Block = 4 << 20;

    readonly string _dir = Directory.CreateTempSubdirectory("qt-tracking-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LargeBlocksAreMappedOnTheirOwnOnlyWhileTracking()
    {
        if (!ProcessMemory.Available) return; // glibc on Linux

        using (ProcessMemory.TrackLargeAllocations())
        {
            Assert.True(ProcessMemory.TrackingLargeAllocations);
            // Larger than all the free heap memory, which malloc would otherwise reuse whatever the threshold.
            Assert.True(IsMappedOnItsOwn((int)Math.Min(int.MaxValue, Math.Max(Block, (long)MallInfo2().fordblks + Block))));
        }

        // After: the heap serves it again, as glibc's dynamic threshold would once tensor-sized blocks were freed.
        Assert.False(ProcessMemory.TrackingLargeAllocations);
        Assert.False(IsMappedOnItsOwn(Block));
    }

    [Fact]
    public void ScopesNestAndTheLastOneTurnsTrackingOff()
    {
        var outer = ProcessMemory.TrackLargeAllocations();
        var inner = ProcessMemory.TrackLargeAllocations();
        inner.Dispose();
        inner.Dispose(); // a second stop does nothing
        Assert.True(ProcessMemory.TrackingLargeAllocations);
        outer.Dispose();
        Assert.False(ProcessMemory.TrackingLargeAllocations);
    }

    [Fact]
    public void TheTrainerMeasuresLiveBytesAndLeavesTheAllocatorAlone()
    {
        string data = Path.Combine(_dir, "data.txt");
        TinyShakespeare.WriteSlice(data, 20_000);
        bool trackedAtSomeStep = false;
        var summary = FineTuner.Run(new FineTuneRequest
        {
            ModelDirectory = TestData.TinyLlamaDir, DataFile = data, OutputDirectory = Path.Combine(_dir, "run"), Method = FineTuneMethod.Lora,
            SequenceLength = 32, MaxEvalExamples = 2,
            Training = new TrainingOptions { Steps = 3, BatchSize = 2, LearningRate = 1e-3, Seed = 1 },
        }, new Progress(_ => trackedAtSomeStep |= ProcessMemory.TrackingLargeAllocations));

        // The trainer used to set glibc's 64 KiB mmap threshold for the whole run (and the process after it).
        Assert.False(trackedAtSomeStep);
        Assert.False(ProcessMemory.TrackingLargeAllocations);
        if (ProcessMemory.LiveHeapBytes is null) return;
        Assert.Equal(2, summary.Memory.MeasuredStep);
        Assert.Contains("step 2", summary.Memory.Method);
        Assert.Contains("mallinfo2", summary.Memory.Method);
        Assert.True(summary.Memory.M3 > 0);
        // With the loss in chunks, the step's peak can be the moment M3 is read (the forward's activations and the
        // first chunk's logits alive), so it is at least M1 + M2 + M3.
        Assert.True(summary.Memory.StepPeak >= summary.Memory.M1 + summary.Memory.M2 + summary.Memory.M3);
    }

    /// <summary>Whether malloc serves <paramref name="bytes"/> with a mapping of its own (mallinfo2's hblkhd grows).</summary>
    static bool IsMappedOnItsOwn(int bytes)
    {
        long before = (long)MallInfo2().hblkhd;
        IntPtr block = Marshal.AllocHGlobal(bytes); // malloc on Linux
        try { return (long)MallInfo2().hblkhd - before >= bytes; }
        finally { Marshal.FreeHGlobal(block); }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MallocStats
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallocStats MallInfo2();

    sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
