using QuantTune.Diagnostics;

namespace QuantTune.Training.Memory;

/// <summary>
/// Measures one training step's memory beyond what was live before it: the growth at a given moment (M3, after
/// the forward pass) and at the step's peak.
/// <list type="bullet">
/// <item>With glibc's mallinfo2: the bytes malloc holds live (<see cref="ProcessMemory.LiveHeapBytes"/>), the
///   peak sampled about every millisecond (<see cref="LiveMemorySampler"/>). The allocator is left as it is, so
///   memory glibc keeps cached is not counted and the step runs at its usual speed.</item>
/// <item>Otherwise: RSS growth and its high-water mark, with <see cref="LargeAllocationTracking"/> on for the
///   step only, so that freed tensors leave RSS. Freed heap blocks reused during the step stay resident, so
///   this reading can be higher than what was live.</item>
/// </list>
/// </summary>
internal sealed class StepMemoryProbe : IDisposable
{
    private readonly LargeAllocationTracking _tracking = new();
    private LiveMemorySampler? _sampler;
    private long _rssBaseline;
    private bool _liveBytes;

    /// <summary>Starts measuring; false when this system offers no reading.</summary>
    public bool Begin()
    {
        if (!ProcessMemory.Available)
        {
            return false;
        }

        _sampler = LiveMemorySampler.TryStart();
        _liveBytes = _sampler is not null;
        if (!_liveBytes)
        {
            _tracking.Start();
            ProcessMemory.Trim();
            _rssBaseline = ProcessMemory.Resident ?? 0;
            ProcessMemory.ResetPeak();
        }

        return true;
    }

    /// <summary>The growth since <see cref="Begin"/>.</summary>
    public long Growth() => _sampler is { } s ? s.Observe() - s.Start : (ProcessMemory.Resident ?? _rssBaseline) - _rssBaseline;

    /// <summary>The peak growth since <see cref="Begin"/>; ends the measurement.</summary>
    public long End()
    {
        long peak = _sampler is { } s ? s.Peak - s.Start : (ProcessMemory.Peak ?? _rssBaseline) - _rssBaseline;
        Dispose();
        return peak;
    }

    /// <summary>What was measured, for <see cref="MemoryReport.Method"/>.</summary>
    public string Describe(int step) => _liveBytes
        ? $"M1/M2 counted from tensors; M3 and the peak measured on step {step} as the growth of the bytes malloc holds live (glibc mallinfo2): M3 after the first forward pass, the peak sampled every millisecond over the step; the allocator is left as it is"
        : $"M1/M2 counted from tensors; M3 and the peak measured on step {step} as RSS growth (after the first forward pass, and the high-water mark), with glibc's mmap threshold at 64 KiB for that step only; freed heap blocks reused during the step stay resident, so these can exceed what was live";

    public void Dispose()
    {
        _sampler?.Dispose();
        _sampler = null;
        _tracking.Stop();
    }
}
