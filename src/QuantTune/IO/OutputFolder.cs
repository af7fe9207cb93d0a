using QuantTune.Diagnostics;

namespace QuantTune.IO;

/// <summary>Checks an output folder against the folder its input is read from.</summary>
public static class OutputFolder
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
