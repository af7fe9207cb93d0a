namespace QuantTune.Hub;

/// <summary>
/// One repository's folder in the Hugging Face cache, laid out as huggingface_hub lays it out:
/// <code>
/// models--org--name/
///   blobs/&lt;etag&gt;                       the file's bytes, named by its ETag (sha256 for LFS files, git sha1 otherwise)
///   snapshots/&lt;commit&gt;/&lt;file&gt;          a relative symlink to ../../blobs/&lt;etag&gt; (one ../ more per subfolder)
///   refs/&lt;revision&gt;                    the commit the revision (a branch or tag) pointed to
///   .no_exist/&lt;commit&gt;/&lt;file&gt;          an empty file: the Hub has no such file at that commit
/// </code>
/// Downloads go to <c>blobs/&lt;etag&gt;.incomplete</c> and are renamed into place whole, under the blob's lock in
/// <c>.locks/</c> as huggingface_hub takes it.
/// </summary>
public sealed class HubCache(string root, HubModelId id)
{
    public string Folder { get; } = Path.Combine(root, id.CacheFolderName);

    public string BlobPath(string etag) => Path.Combine(Folder, "blobs", etag);

    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";

    /// <summary>huggingface_hub's lock file for downloading one blob: <c>&lt;cache root&gt;/.locks/models--org--name/&lt;etag&gt;.lock</c>.</summary>
    public string LockPath(string etag) => Path.Combine(Path.GetDirectoryName(Folder)!, ".locks", Path.GetFileName(Folder), etag + ".lock");

    public string SnapshotFolder(string commit) => Path.Combine(Folder, "snapshots", commit);

    public string SnapshotFile(string commit, string file) => Path.Combine(SnapshotFolder(commit), file);

    /// <summary>The commit a revision names: a commit hash as is, a branch or tag through refs/, null when unknown here.</summary>
    public string? CommitOf(string revision)
    {
        var refFile = Path.Combine(Folder, "refs", revision);
        if (File.Exists(refFile)) return File.ReadAllText(refFile).Trim() is { Length: > 0 } c && Safe(c) ? c : null;
        return Directory.Exists(SnapshotFolder(revision)) && Safe(revision) ? revision : null;
    }

    /// <summary>Whether a snapshot file is present (its symlink resolves to a blob).</summary>
    public bool HasFile(string commit, string file) => File.Exists(SnapshotFile(commit, file));

    /// <summary>Whether the Hub said it has no such file at the commit.</summary>
    public bool KnownMissing(string commit, string file) => File.Exists(Path.Combine(Folder, ".no_exist", commit, file));

    public void MarkMissing(string commit, string file)
    {
        var path = Path.Combine(Folder, ".no_exist", commit, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path)) File.WriteAllBytes(path, []);
    }

    /// <summary>Records the commit a branch or tag points to (nothing for a commit hash).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (revision == commit) return;
        var refFile = Path.Combine(Folder, "refs", revision);
        if (File.Exists(refFile) && File.ReadAllText(refFile).Trim() == commit) return;
        IO.AtomicFile.WriteAllText(refFile, commit);
    }

    /// <summary>
    /// Points snapshots/&lt;commit&gt;/&lt;file&gt; at blobs/&lt;etag&gt; with a relative symlink, as
    /// huggingface_hub's _create_symlink does (published by a rename, so a reader never sees a missing link).
    /// </summary>
    public void Link(string commit, string file, string etag)
    {
        var link = SnapshotFile(commit, file);
        var dir = Path.GetDirectoryName(link)!;
        Directory.CreateDirectory(dir);
        var target = Path.GetRelativePath(dir, BlobPath(etag));
        var info = new FileInfo(link);
        if (info.LinkTarget == target) return;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(link)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.CreateSymbolicLink(tmp, target);
        File.Move(tmp, link, overwrite: true);
    }

    static bool Safe(string name) => !name.Contains("..", StringComparison.Ordinal) && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;
}
