using QuantTune.Diagnostics;

namespace QuantTune.IO;

/// <summary>
/// Publishes a whole folder at once: it is written under a temporary name beside the target
/// (<c>.NAME.PID.GUID.tmp</c>), its files flushed to disk, and swapped in: in one atomic
/// exchange where the system has one (Linux <c>renameat2</c>), else by two renames.
/// <list type="bullet">
/// <item>An existing folder is replaced only when every file in it is one the new output
/// rewrites: a folder holding anything else (the user's own files, another model) is refused,
/// never deleted.</item>
/// <item>With two renames, the previous folder waits under <c>.NAME.old</c> between them. A process killed
/// between the two renames leaves it there, and the next write to the same target (or
/// <see cref="Recover"/>) puts it back; a swap that completed leaves nothing to recover.</item>
/// <item>Temporary folders of processes that no longer run are removed at the next write.</item>
/// </list>
/// </summary>
public static class AtomicDirectory
{
    /// <summary>The name the previous folder has while it is being replaced.</summary>
    public static string PreviousName(string path) => Path.Combine(ParentOf(path), $".{Path.GetFileName(Full(path))}.old");

    /// <summary>
    /// For tests of a kill at each step: "written", "old-moved" (two-rename path only) or
    /// "new-moved" (see <see cref="IO.KillHook"/>).
    /// </summary>
    public const string KillHookVariable = IO.KillHook.StepVariable;

    /// <param name="formatFiles">Files the output's format may hold that this write need not
    /// rewrite (an optional file of an earlier output of the same kind): they are not counted
    /// as someone else's, and the replaced folder drops them.</param>
    public static void Write(string path, Action<string> write, IReadOnlyCollection<string>? formatFiles = null)
    {
        OutputFolder.CheckWritable(path, isFolder: true);
        var full = Full(path);
        var parent = ParentOf(path);
        Directory.CreateDirectory(parent);
        Recover(full);
        StaleTemporaries.Remove(full);
        var tmp = StaleTemporaries.NameFor(full);
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            FlushFiles(tmp);
            IO.KillHook.At("written", full);
            var previous = PreviousName(full);
            if (File.Exists(full))
                throw new QuantTuneException($"{full}: is a file; expected a folder to write the output into");
            if (Directory.Exists(full))
            {
                RefuseForeignFiles(full, tmp, formatFiles ?? []);
                if (TryExchange(tmp, full))
                {
                    // One atomic step: the target now holds the new folder, tmp the old one.
                    IO.KillHook.At("new-moved", full);
                    Directory.Delete(tmp, recursive: true);
                    return;
                }
                Directory.Move(full, previous);
                IO.KillHook.At("old-moved", full);
            }
            Directory.Move(tmp, full);
            IO.KillHook.At("new-moved", full);
            if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
        }
        catch (Exception e)
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            Recover(full);
            // A failure to write the temporary (a full disk most often) names the output the caller asked for.
            // (A file written through AtomicFile inside the folder has been renamed already, after its own temporary.)
            if ((e as IOException ?? e.InnerException as IOException) is { } io && e.Message.Contains(tmp, StringComparison.Ordinal))
                throw new QuantTuneException($"{path}: could not be written ({OutputFolder.Reason(io)}); nothing was changed", io);
            throw;
        }
    }

    /// <summary>
    /// Before the work: refuses an existing folder at <paramref name="path"/> that holds files other than
    /// <paramref name="outputFiles"/> (paths relative to the folder), which <see cref="Write"/> would refuse after it.
    /// </summary>
    public static void CheckReplaceable(string path, IReadOnlyCollection<string> outputFiles)
    {
        OutputFolder.CheckWritable(path, isFolder: true);
        var full = Full(path);
        if (Directory.Exists(full)) RefuseForeign(full, rel => outputFiles.Contains(rel));
    }

    /// <summary>
    /// Finishes a swap that a killed process left half done: the previous folder goes back in
    /// place when the target is missing, and is removed when the new one is already there.
    /// </summary>
    /// <summary>
    /// For readers: when <paramref name="path"/> is missing but a write killed between its two renames left the
    /// previous output at <see cref="PreviousName"/>, puts that back, so the output reads as it was before the
    /// interrupted write. Changes nothing otherwise. Call before reading an output folder.
    /// </summary>
    public static void RestoreIfMissing(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0', StringComparison.Ordinal)) return;
        var full = Full(path);
        var previous = PreviousName(full);
        if (Directory.Exists(full) || File.Exists(full) || !Directory.Exists(previous)) return;
        try
        {
            Directory.Move(previous, full);
        }
        catch (IOException) when (Directory.Exists(full))
        {
            // Another process restored it first.
        }
    }

    public static void Recover(string path)
    {
        // The previous output comes back where the target is missing; where the target is there, the leftover goes.
        RestoreIfMissing(path);
        var previous = PreviousName(Full(path));
        if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
    }

    /// <summary>
    /// Swaps two folders in one step (Linux renameat2 with RENAME_EXCHANGE), so that no moment
    /// exists at which the target is missing. False where the system or file system cannot, or
    /// when <c>QUANTTUNE_RENAME_EXCHANGE=0</c> asks for the two-rename path (for its tests).
    /// </summary>
    static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("QUANTTUNE_RENAME_EXCHANGE") == "0") return false;
        try { return RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange) == 0; }
        catch (EntryPointNotFoundException) { return false; }
        catch (DllNotFoundException) { return false; }
    }

    const int AtFdCwd = -100;
    const uint RenameExchange = 2;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    static extern int RenameAt2(int oldDirFd, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string oldPath,
        int newDirFd, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string newPath, uint flags);

    static void RefuseForeignFiles(string existing, string replacement, IReadOnlyCollection<string> formatFiles) =>
        RefuseForeign(existing, rel => File.Exists(Path.Combine(replacement, rel)) || formatFiles.Contains(rel));

    static void RefuseForeign(string existing, Func<string, bool> replaced)
    {
        var foreign = Directory.EnumerateFiles(existing, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(existing, f))
            .Where(rel => !replaced(rel))
            .Order(StringComparer.Ordinal).ToList();
        if (foreign.Count > 0)
            throw new QuantTuneException($"{existing}: already exists and holds {foreign.Count} file(s) that this output would not replace " +
                $"({string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? ", …" : "")}); nothing was changed. Choose a new or empty folder, or move those files away.");
    }

    static void FlushFiles(string dir)
    {
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            stream.Flush(flushToDisk: true);
        }
    }

    static string Full(string path) => Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);

    static string ParentOf(string path) => Path.GetDirectoryName(Full(path))!;
}
