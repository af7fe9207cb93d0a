namespace QuantTune.Diagnostics;

/// <summary>
/// The most memory live at once during a piece of work: <see cref="ProcessMemory.LiveHeapBytes"/> read on a
/// background thread about every millisecond, and whenever <see cref="Observe"/> is called. It changes nothing
/// in the allocator, so the work runs at its usual speed (less the reading thread's share of a core).
/// </summary>
public sealed class LiveMemorySampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _peak;

    private LiveMemorySampler(long now)
    {
        Start = now;
        _peak = now;
        _thread = new Thread(Loop) { IsBackground = true, Name = "QuantTune live-memory sampler" };
        _thread.Start();
    }

    /// <summary>Live bytes when sampling began.</summary>
    public long Start { get; }

    /// <summary>The highest reading so far, this moment's included.</summary>
    public long Peak
    {
        get
        {
            Observe();
            return Interlocked.Read(ref _peak);
        }
    }

    /// <summary>Starts sampling, or returns null where live bytes cannot be read.</summary>
    public static LiveMemorySampler? TryStart() => ProcessMemory.LiveHeapBytes is long now ? new LiveMemorySampler(now) : null;

    /// <summary>Takes a reading now (at a moment known to be high, such as the end of a forward pass) and returns it.</summary>
    public long Observe()
    {
        long now = ProcessMemory.LiveHeapBytes ?? Start;
        long seen = Interlocked.Read(ref _peak);
        while (now > seen)
        {
            long previous = Interlocked.CompareExchange(ref _peak, now, seen);
            if (previous == seen) break;
            seen = previous;
        }

        return now;
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
    }

    private void Loop()
    {
        while (!_stopping)
        {
            Observe();
            Thread.Sleep(1);
        }
    }
}
