namespace QuantTune.Hub;

/// <summary>
/// What a HEAD on <c>resolve/&lt;revision&gt;/&lt;file&gt;</c> tells, read as huggingface_hub's
/// get_hf_file_metadata reads it: the commit (<c>X-Repo-Commit</c>), the ETag
/// (<c>X-Linked-Etag</c> for an LFS file, which is its sha256, else <c>ETag</c>, without <c>W/</c> and
/// quotes), the size (<c>X-Linked-Size</c>, else <c>Content-Length</c> of a response that is not a
/// redirect) and where the bytes are (the redirect's <c>Location</c>, a CDN for LFS files).
/// </summary>
public sealed record HubFileMetadata(string Commit, string ETag, long Size, Uri Location, bool IsLfs)
{
    /// <summary>huggingface_hub's _normalize_etag.</summary>
    public static string NormalizeETag(string etag) => etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..].Trim('"') : etag.Trim('"');
}
