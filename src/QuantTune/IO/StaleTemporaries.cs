namespace QuantTune.IO;

/// <summary>
/// The temporaries an output is written under beside its target, <c>.NAME.PID.GUID.tmp</c>,
/// and their removal once the process that wrote them no longer runs (it was killed, or the
/// machine went down).
/// </summary>
static class StaleTemporaries
{
    public static string NameFor(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    /// <summary>Removes the files and folders left beside <paramref name="full"/> by processes that no longer run.</summary>
    public static void Remove(string full)
    {
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        foreach (var entry in Directory.EnumerateFileSystemEntries(parent, $".{Path.GetFileName(full)}.*.tmp"))
        {
            var parts = Path.GetFileName(entry).Split('.');
            // .NAME.PID.GUID.tmp: NAME may itself hold dots, so the PID is third from the end.
            if (parts.Length < 4 || !int.TryParse(parts[^3], out int pid) || pid == Environment.ProcessId || IsRunning(pid)) continue;
            try
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
