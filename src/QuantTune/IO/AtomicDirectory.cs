namespace QuantTune.IO;

/// <summary>
/// Writes a whole folder under a temporary name beside the target and renames it into place,
/// so an interrupted run never leaves a half-written output folder.
/// </summary>
public static class AtomicDirectory
{
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            string? old = null;
            if (Directory.Exists(full))
            {
                old = tmp + ".old";
                Directory.Move(full, old);
            }
            Directory.Move(tmp, full);
            if (old is not null) Directory.Delete(old, recursive: true);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }
}
