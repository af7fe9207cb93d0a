using System.Runtime.InteropServices;

namespace QuantTune.Formats.Safetensors;

/// <summary>
/// Hands the pages of a read-only file mapping back to the OS once their bytes are copied out
/// (<c>madvise(MADV_DONTNEED)</c> on Linux): the file stays in the page cache, but the pages no
/// longer count in the process's resident memory, so reading a checkpoint tensor by tensor holds
/// one tensor of the file at a time instead of all of it. A later read of the same bytes faults
/// them in again from the cache. Elsewhere, and where the call fails, nothing happens.
/// </summary>
static unsafe partial class MappedPages
{
    const int MADV_DONTNEED = 4;
    static readonly long PageSize = Environment.SystemPageSize;
    static bool _unavailable = !OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int MAdvise(nint address, nuint length, int advice);

    /// <summary>Releases the whole pages inside [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>); partial pages at either end are kept (neighbouring tensors share them).</summary>
    public static void Release(byte* start, long length)
    {
        if (_unavailable || length < PageSize) return;
        long first = ((long)start + PageSize - 1) / PageSize * PageSize;
        long end = ((long)start + length) / PageSize * PageSize;
        if (end <= first) return;
        try
        {
            MAdvise((nint)first, (nuint)(end - first), MADV_DONTNEED);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }
}
