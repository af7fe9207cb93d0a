using QuantTune.Diagnostics;
using TorchSharp;

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
/// <item>On CUDA: the GPU's memory in use (<see cref="GpuMemory"/>, NVML), read after synchronizing. The caching
///   allocator keeps what it reserved at the step's peak, so the reading after the step is that peak; it counts
///   reserved memory, as <c>torch.cuda.max_memory_reserved</c> does, not host memory.</item>
/// </list>
/// </summary>
internal sealed class StepMemoryProbe : IDisposable
{
    private readonly LargeAllocationTracking _tracking = new();
    private readonly int? _gpu;
    private LiveMemorySampler? _sampler;
    private long _rssBaseline;
    private long _gpuBaseline;
    private bool _liveBytes;

    /// <summary>A probe for a step on <paramref name="device"/> (the host's memory unless it is a CUDA device).</summary>
    public StepMemoryProbe(torch.Device? device = null)
    {
        _gpu = device?.type == DeviceType.CUDA ? Math.Max(device.index, 0) : null;
    }

    /// <summary>Why nothing can be measured here, or null when a reading is available.</summary>
    public string? Unavailable => _gpu is int index
        ? GpuMemory.UsedBytes(index) is null ? $"M1/M2 counted; GPU memory not measured (no NVML reading for GPU {index}), and host memory is not the step's" : null
        : ProcessMemory.Available ? null : "M1/M2 counted; RSS not available on this OS";

    /// <summary>Starts measuring; false when this system offers no reading.</summary>
    public bool Begin()
    {
        if (Unavailable is not null)
        {
            return false;
        }

        if (_gpu is int index)
        {
            _gpuBaseline = GpuReading(index);
            return true;
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
    public long Growth() => _gpu is int index ? GpuReading(index) - _gpuBaseline
        : _sampler is { } s ? s.Observe() - s.Start : (ProcessMemory.Resident ?? _rssBaseline) - _rssBaseline;

    /// <summary>The peak growth since <see cref="Begin"/>; ends the measurement.</summary>
    public long End()
    {
        long peak = _gpu is int index ? GpuReading(index) - _gpuBaseline
            : _sampler is { } s ? s.Peak - s.Start : (ProcessMemory.Peak ?? _rssBaseline) - _rssBaseline;
        Dispose();
        return peak;
    }

    /// <summary>What was measured, for <see cref="MemoryReport.Method"/>, on <paramref name="step"/> (null: no step was measured).</summary>
    public string Describe(int? step) => Unavailable
        ?? (step is not int n ? "M1/M2 counted from tensors; no step was trained, so M3 and the peak were not measured" : Measured(n));

    /// <summary>GPU memory in use once the queued work has finished.</summary>
    private static long GpuReading(int index)
    {
        torch.cuda.synchronize();
        return GpuMemory.UsedBytes(index) ?? 0;
    }

    private string Measured(int step) => _gpu is int gpu
        ? $"M1/M2 counted from tensors; M3 and the peak measured on step {step} on GPU {gpu} as the growth of its memory in use (NVML, after synchronizing): the CUDA caching allocator's reserve, which keeps the step's peak, not host memory"
        : _liveBytes
        ? $"M1/M2 counted from tensors; M3 and the peak measured on step {step} as the growth of the bytes malloc holds live (glibc mallinfo2): M3 after the first forward pass, the peak sampled every millisecond over the step; the allocator is left as it is"
        : $"M1/M2 counted from tensors; M3 and the peak measured on step {step} as RSS growth (after the first forward pass, and the high-water mark), with glibc's mmap threshold at 64 KiB for that step only; freed heap blocks reused during the step stay resident, so these can exceed what was live";

    public void Dispose()
    {
        _sampler?.Dispose();
        _sampler = null;
        _tracking.Stop();
    }
}
