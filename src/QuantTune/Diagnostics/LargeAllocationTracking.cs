namespace QuantTune.Diagnostics;

/// <summary>
/// A span of work during which glibc maps every allocation of 64 KiB or more on its own, so that RSS growth
/// measures live tensors (<see cref="ProcessMemory"/>). <see cref="Start"/> and <see cref="Stop"/> may be called
/// around each measured piece; <see cref="Dispose"/> stops it if it is still on, so an exception never leaves
/// the slow allocator setting behind.
/// </summary>
public sealed class LargeAllocationTracking : IDisposable
{
    public bool Started { get; private set; }

    public void Start()
    {
        if (Started) return;
        ProcessMemory.BeginTracking();
        Started = true;
    }

    public void Stop()
    {
        if (!Started) return;
        Started = false;
        ProcessMemory.EndTracking();
    }

    public void Dispose() => Stop();
}
