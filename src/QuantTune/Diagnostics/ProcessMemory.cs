using System.Runtime.InteropServices;

namespace QuantTune.Diagnostics;

/// <summary>
/// Measures host memory on Linux: resident set size (VmRSS) and its high-water mark (VmHWM),
/// which <see cref="ResetPeak"/> resets through /proc/self/clear_refs. <see cref="TrackLargeAllocations"/>
/// makes glibc serve every allocation of 64 KiB or more with its own mapping, returned to the
/// OS on free, so that RSS follows the live tensors instead of what malloc keeps cached.
/// Elsewhere (no /proc) every reading is null.
/// </summary>
public static partial class ProcessMemory
{
    const int M_MMAP_THRESHOLD = -3, M_TRIM_THRESHOLD = -1;
    // glibc's dynamic mmap threshold grows up to 32 MiB on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX),
    // the trim threshold to twice that; mallopt cannot turn the dynamic adjustment back on, so
    // ending the tracking sets both to where it converges for tensor-sized blocks.
    const int SteadyMmapThreshold = 32 * 1024 * 1024, SteadyTrimThreshold = 64 * 1024 * 1024;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public static bool Available => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    static bool _tracking;

    /// <summary>
    /// From now on, allocations of 64 KiB or more get their own mappings, so that RSS follows
    /// live tensors. Every such allocation is then an mmap and a page fault per page, which
    /// slows training about twofold: turn it on only around what is measured.
    /// </summary>
    public static void TrackLargeAllocations()
    {
        if (!Available || _tracking) return;
        try
        {
            MallOpt(M_MMAP_THRESHOLD, 64 * 1024);
            _tracking = true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>Ends <see cref="TrackLargeAllocations"/>: tensor-sized blocks come from the heap again, as glibc's own steady state has them.</summary>
    public static void StopTrackingLargeAllocations()
    {
        if (!Available || !_tracking) return;
        try
        {
            MallOpt(M_MMAP_THRESHOLD, SteadyMmapThreshold);
            MallOpt(M_TRIM_THRESHOLD, SteadyTrimThreshold);
            _tracking = false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>Whether large allocations are being tracked now.</summary>
    public static bool Tracking => _tracking;

    /// <summary>Returns freed heap memory to the OS, so the next reading starts from live memory.</summary>
    public static void Trim()
    {
        if (!Available) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    public static long? Resident => Read("VmRSS:");
    public static long? Peak => Read("VmHWM:");

    /// <summary>Sets the high-water mark to the current RSS.</summary>
    public static void ResetPeak()
    {
        if (!Available) return;
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    static long? Read(string key)
    {
        if (!Available) return null;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return null;
    }
}
