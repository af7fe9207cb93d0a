namespace QuantTune.IO;

/// <summary>
/// Writes a file through a temporary file in the same folder and a rename, so that readers
/// (and a crash) see either the old file or the complete new one, never half of it. The
/// temporaries of killed processes are removed at the next write to the same path.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        OutputFolder.CheckWritable(path, isFolder: false);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        StaleTemporaries.Remove(full);
        var tmp = StaleTemporaries.NameFor(full);
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            KillHook.At("file-written", full);
            File.Move(tmp, full, overwrite: true);
            KillHook.At("file-moved", full);
        }
        catch (Exception e)
        {
            try { File.Delete(tmp); } catch (IOException) { }
            // A failure to write the temporary (a full disk most often) names the file the caller asked for.
            if (e is IOException io && io.Message.Contains(tmp, StringComparison.Ordinal))
                throw new Diagnostics.QuantTuneException($"{path}: could not be written ({OutputFolder.Reason(io)}); nothing was changed", e);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });
}
