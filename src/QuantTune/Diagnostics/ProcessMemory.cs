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
    const int M_MMAP_THRESHOLD = -3;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public static bool Available => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    static bool _tracking;

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
