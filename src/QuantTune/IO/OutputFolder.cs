using QuantTune.Diagnostics;

namespace QuantTune.IO;

/// <summary>Checks an output path before the work: that it can be written, and that it is not the folder its input is read from.</summary>
public static partial class OutputFolder
{
    /// <summary>
    /// Refuses an output folder that is the source folder or holds it: publishing the output
    /// there would replace the model being read. <paramref name="option"/> names the option the
    /// user gave the output with, when there is one.
    /// </summary>
    public static void RefuseSource(string output, string source, string? option = null)
    {
        var outFull = Resolved(output);
        var sourceFull = Resolved(source);
        bool same = string.Equals(outFull, sourceFull, StringComparison.Ordinal);
        bool holds = sourceFull.StartsWith(outFull + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (!same && !holds) return;
        var who = option is null ? output : $"{option} {output}";
        throw new QuantTuneException(same
            ? $"{who}: is the source model's folder; writing there would replace the model being read. Choose another folder"
            : $"{who}: holds the source model's folder {source}; writing there would replace it. Choose another folder");
    }

    /// <summary>
    /// Why an output cannot be written at <paramref name="path"/> (a folder, or a file when <paramref name="isFolder"/>
    /// is false), or null when it can: a file where the folder would go or a folder where the file would go, or an
    /// existing file among the folders above it. Checked before the work, so that hours of it are not lost to a typo.
    /// </summary>
    public static string? Problem(string path, bool isFolder)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return $"is not a usable path ({e.Message})";
        }
        if (TooLongName(full) is { } tooLong) return tooLong;
        if (isFolder && File.Exists(full)) return "is a file; expected a folder to write the output into";
        if (!isFolder && Directory.Exists(full)) return "is a folder; expected the name of the file to write";
        for (var dir = Path.GetDirectoryName(full.TrimEnd(Path.DirectorySeparatorChar)); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir)) return Unwritable(dir);
            if (File.Exists(dir)) return $"cannot be created: {dir} is a file, not a folder";
        }
        return null;
    }

    /// <summary>The most bytes of a name in a folder on the usual file systems (ext4, XFS, Btrfs, APFS, NTFS in UTF-16 units).</summary>
    const int NameLimit = 255;

    /// <summary>How much longer the temporary an output is first written under is than its name (<c>.NAME.PID.GUID.tmp</c>).</summary>
    const int TemporaryExtra = 46;

    /// <summary>Why a name in <paramref name="full"/> is too long for the file system, or null.</summary>
    static string? TooLongName(string full)
    {
        var names = full.TrimEnd(Path.DirectorySeparatorChar).Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < names.Length; i++)
        {
            int limit = i == names.Length - 1 ? NameLimit - TemporaryExtra : NameLimit;
            int bytes = System.Text.Encoding.UTF8.GetByteCount(names[i]);
            if (bytes > limit)
                return $"is not a usable path: the name {names[i][..Math.Min(24, names[i].Length)]}… is {bytes} bytes long; at most {limit} fit" +
                    (i == names.Length - 1 ? $" (file systems allow {NameLimit}, and the output is first written under a temporary name {TemporaryExtra} bytes longer)" : $" (file systems allow {NameLimit})");
        }
        return null;
    }

    /// <summary>
    /// Why nothing can be created in the existing folder <paramref name="dir"/> (where the output, its temporary or
    /// the folders above it go), or null when a probe folder can be made and removed there: permissions, a
    /// read-only file system and system folders (/proc) are found before the work, not after it.
    /// </summary>
    static string? Unwritable(string dir)
    {
        var probe = Path.Combine(dir, $".quanttune-probe.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return $"cannot be written: the folder {dir} does not let this user create files (permission denied)";
        }
        catch (IOException e)
        {
            return $"cannot be written: the folder {dir} does not accept new files ({Reason(e)})";
        }
    }

    /// <summary>
    /// The system's reason in an I/O error, without the path it names (a temporary's hidden name, which means
    /// nothing to the user): .NET writes them as "REASON : 'PATH'" or "REASON 'PATH'".
    /// </summary>
    public static string Reason(IOException e)
    {
        var reason = QuotedPath().Replace(e.Message.Trim(), "").Trim().TrimEnd(' ', ':', '.');
        return reason.Length == 0 ? e.GetType().Name : reason;
    }

    /// <summary>Throws the <see cref="Problem"/> of <paramref name="path"/>, naming it.</summary>
    public static void CheckWritable(string path, bool isFolder)
    {
        if (Problem(path, isFolder) is { } problem) throw new QuantTuneException($"{path}: {problem}");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\s*:?\s*'[^']*'")]
    private static partial System.Text.RegularExpressions.Regex QuotedPath();

    /// <summary>The absolute path with symbolic links of existing folders resolved.</summary>
    static string Resolved(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        try
        {
            var info = new DirectoryInfo(full);
            if (info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target) return Path.GetFullPath(target.FullName).TrimEnd(Path.DirectorySeparatorChar);
        }
        catch (IOException) { }
        return full;
    }
}
