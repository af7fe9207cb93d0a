namespace QuantTune.IO;

/// <summary>
/// A file's length in bytes, through symbolic links (the Hugging Face cache's snapshot entries
/// are links to blobs; <see cref="FileInfo.Length"/> of a link is the link's own length).
/// </summary>
public static class FileLength
{
    public static long Of(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? info.Length : ((FileInfo?)info.ResolveLinkTarget(returnFinalTarget: true))?.Length ?? info.Length;
    }
}
