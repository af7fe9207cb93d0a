using System.Runtime.InteropServices;

namespace QuantTune.Diagnostics;

/// <summary>
/// Measures host memory on Linux: resident set size (VmRSS) and its high-water mark (VmHWM),
/// which <see cref="ResetPeak"/> resets through /proc/self/clear_refs. <see cref="TrackLargeAllocations"/>
/// makes glibc serve every allocation of 64 KiB or more with its own mapping, returned to the
/// OS on free, so that RSS follows the live tensors instead of what malloc keeps cached; it
/// costs a page-faulting mapping per tensor (a LoRA step on tiny-llama runs 2–5 times as long),
/// so it is meant for the measured work only. <see cref="LiveHeapBytes"/> counts the bytes malloc holds
/// live and needs no allocator setting; the trainer measures with it. Elsewhere (no /proc) every reading is null.
/// </summary>
public static partial class ProcessMemory
{
    const int M_TRIM_THRESHOLD = -1;
    const int M_MMAP_THRESHOLD = -3;
    const int TrackingThreshold = 64 * 1024;

    /// <summary>
    /// glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit): the ceiling its dynamic mmap threshold rises to
    /// as large blocks are freed. The dynamic trim threshold is twice the mmap threshold.
    /// </summary>
    static readonly int DynamicThresholdCeiling = 4 * 1024 * 1024 * IntPtr.Size;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2Result
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2Result MallInfo2();

    static bool _noMallInfo2;

    /// <summary>
    /// The bytes malloc has handed out and not had back (glibc's mallinfo2: in-use heap chunks plus mmapped
    /// blocks, every arena): the live allocations, tensors included, whatever the allocator keeps cached beside
    /// them. Null where glibc's mallinfo2 (2.33 and later) is not there.
    /// </summary>
    public static long? LiveHeapBytes
    {
        get
        {
            if (_noMallInfo2 || !Available) return null;
            try
            {
                var info = MallInfo2();
                return (long)info.Uordblks + (long)info.Hblkhd;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _noMallInfo2 = true;
                return null;
            }
        }
    }

    public static bool Available => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    static readonly Lock TrackingLock = new();
    static int _trackers;

    /// <summary>Whether some <see cref="LargeAllocationTracking"/> is started.</summary>
    public static bool TrackingLargeAllocations
    {
        get { lock (TrackingLock) return _trackers > 0; }
    }

    /// <summary>
    /// Turns large-allocation tracking on until the result is disposed (scopes nest: the last one to end
    /// turns it off).
    /// </summary>
    public static LargeAllocationTracking TrackLargeAllocations()
    {
        var tracking = new LargeAllocationTracking();
        tracking.Start();
        return tracking;
    }

    internal static void BeginTracking()
    {
        lock (TrackingLock)
        {
            if (_trackers++ == 0) SetThresholds(TrackingThreshold, null);
        }
    }

    /// <summary>
    /// glibc cannot turn its dynamic threshold back on: any mallopt of M_MMAP_THRESHOLD disables it for good
    /// (mallopt(3); malloc.c sets no_dyn_threshold). So the thresholds are put where the dynamic ones settle
    /// once tensor-sized blocks have been freed: mmap at DEFAULT_MMAP_THRESHOLD_MAX, trim at twice that.
    /// </summary>
    internal static void EndTracking()
    {
        lock (TrackingLock)
        {
            if (--_trackers == 0) SetThresholds(DynamicThresholdCeiling, 2 * DynamicThresholdCeiling);
        }
    }

    static void SetThresholds(int mmap, int? trim)
    {
        if (!Available) return;
        try
        {
            MallOpt(M_MMAP_THRESHOLD, mmap);
            if (trim is int t) MallOpt(M_TRIM_THRESHOLD, t);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

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
