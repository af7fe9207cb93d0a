namespace QuantTune.Hub;

/// <summary>
/// huggingface_hub's lock around the download of one blob: an exclusive <c>flock</c> on
/// <c>&lt;cache&gt;/.locks/models--org--name/&lt;etag&gt;.lock</c> (Python's <c>filelock</c> takes the same), so that two
/// QuantTune processes, or QuantTune and a Python process, sharing one cache never write one blob at once: the
/// second waits, then finds the blob there. .NET takes <c>flock(LOCK_EX)</c> on Unix for a file opened with
/// <see cref="FileShare.None"/>.
/// </summary>
internal static class HubBlobLock
{
    /// <summary>Waits for the lock (polling, as filelock does) and holds it until the returned handle is disposed.</summary>
    public static IDisposable Acquire(string lockPath, CancellationToken cancel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (HeldByAnother(e))
            {
                // Held by another process: it is downloading this blob.
                cancel.ThrowIfCancellationRequested();
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>
    /// Whether the open failed because another process holds the lock: flock's EWOULDBLOCK (11 on Linux, 35 on
    /// macOS), or Windows' sharing violation. Any other failure (a full disk, a read-only cache) is not waited on.
    /// </summary>
    private static bool HeldByAnother(IOException e) => e.HResult is 11 or 35 or unchecked((int)0x80070020);
}
