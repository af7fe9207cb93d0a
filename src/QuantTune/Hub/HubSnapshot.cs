using System.Security.Cryptography;
using QuantTune.Diagnostics;

namespace QuantTune.Hub;

/// <summary>
/// A model from the Hub as a local folder: the snapshot of its revision in the shared
/// Hugging Face cache, downloaded where files are missing, as huggingface_hub's
/// snapshot_download does (file metadata by HEAD at the revision's commit, bytes into
/// <c>blobs/&lt;etag&gt;.incomplete</c>, resumed with Range, the sha256 of LFS files checked against
/// their ETag, then renamed to <c>blobs/&lt;etag&gt;</c> and linked from <c>snapshots/&lt;commit&gt;</c>;
/// <c>refs/&lt;revision&gt;</c> records the commit). A snapshot already complete is used without
/// downloading; offline (<c>HF_HUB_OFFLINE</c>), or when the Hub cannot be reached, the cache alone answers.
/// </summary>
public static class HubSnapshot
{
    /// <summary>The snapshot folder of <paramref name="id"/>; <paramref name="progress"/> gets the bytes downloaded of the bytes to download.</summary>
    public static string Resolve(HubModelId id, HubSettings settings, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancel = default)
    {
        var cache = new HubCache(settings.CacheRoot, id);
        if (settings.Offline)
            return FromCache(cache, id) ?? throw new QuantTuneException(
                $"{id}: HF_HUB_OFFLINE is set and the model is not in the cache ({cache.Folder}{(id.Revision == "main" ? "" : $", revision {id.Revision}")}); unset HF_HUB_OFFLINE to download it");
        using var client = new HubClient(settings);
        HubRepositoryInfo info;
        try { info = client.GetRepositoryInfo(id, cancel); }
        catch (HubUnreachableException e)
        {
            // As huggingface_hub does: the Hub out of reach, a cached snapshot of the revision still answers.
            return FromCache(cache, id) ?? throw new HubUnreachableException($"{id}: {e.Message}", e);
        }

        var commit = info.Commit;
        var pending = new List<(string File, HubFileMetadata Meta)>();
        void Plan(IEnumerable<string> files)
        {
            foreach (var file in files)
            {
                if (cache.HasFile(commit, file) || cache.KnownMissing(commit, file)) continue;
                var meta = client.GetFileMetadata(id, commit, file, cancel);
                if (meta is null) { cache.MarkMissing(commit, file); continue; }
                pending.Add((file, meta));
            }
        }
        // The metadata files first: the index names the shards.
        Plan(HubModelFiles.Metadata(info.Files));
        long done = 0, total = pending.Sum(p => p.Meta.Size);
        FetchAll(client, cache, id, commit, pending, ref done, total, progress, cancel);
        if (!cache.HasFile(commit, "config.json"))
            throw new QuantTuneException($"{id}: the repository has no config.json at {commit}; QuantTune reads Hugging Face transformers checkpoints");
        var index = cache.SnapshotFile(commit, HubModelFiles.Index);
        var weights = HubModelFiles.Weights(File.Exists(index) ? index : null, info.Files);
        pending.Clear();
        Plan(weights);
        total += pending.Sum(p => p.Meta.Size);
        FetchAll(client, cache, id, commit, pending, ref done, total, progress, cancel);
        var missing = weights.Where(w => !cache.HasFile(commit, w)).ToList();
        if (weights.Count == 0 || missing.Count == weights.Count && !File.Exists(index))
            throw new QuantTuneException($"{id}: the repository has no safetensors weights at {commit} (QuantTune reads *.safetensors, not pytorch_model.bin)");
        if (missing.Count > 0)
            throw new QuantTuneException($"{id}: {HubModelFiles.Index} names {string.Join(", ", missing)}, which the repository does not have at {commit}");
        cache.WriteRef(id.Revision, commit);
        progress?.Report((total, total));
        return cache.SnapshotFolder(commit);
    }

    /// <summary>
    /// One file of the revision (config.json for <c>plan</c>), from the cache or downloaded alone; the
    /// Hub out of reach or offline, the cached copy answers.
    /// </summary>
    public static string ResolveFile(HubModelId id, HubSettings settings, string file, CancellationToken cancel = default)
    {
        var cache = new HubCache(settings.CacheRoot, id);
        string? Cached() => cache.CommitOf(id.Revision) is { } c && cache.HasFile(c, file) ? cache.SnapshotFile(c, file) : null;
        if (settings.Offline)
            return Cached() ?? throw new QuantTuneException($"{id}: HF_HUB_OFFLINE is set and {file} is not in the cache ({cache.Folder}); unset HF_HUB_OFFLINE to download it");
        using var client = new HubClient(settings);
        HubFileMetadata? meta;
        try { meta = client.GetFileMetadata(id, id.Revision, file, cancel); }
        catch (HubUnreachableException e) { return Cached() ?? throw new HubUnreachableException($"{id}: {e.Message}", e); }
        if (meta is null) throw new QuantTuneException($"{id}: the repository has no {file}");
        if (!cache.HasFile(meta.Commit, file)) Fetch(client, cache, id, meta.Commit, file, meta, _ => { }, cancel);
        cache.WriteRef(id.Revision, meta.Commit);
        return cache.SnapshotFile(meta.Commit, file);
    }

    static void FetchAll(HubClient client, HubCache cache, HubModelId id, string commit, List<(string File, HubFileMetadata Meta)> files,
        ref long done, long total, IProgress<(long Done, long Total)>? progress, CancellationToken cancel)
    {
        foreach (var (file, meta) in files)
        {
            long before = done;
            Fetch(client, cache, id, commit, file, meta, have => progress?.Report((before + have, total)), cancel);
            done = before + meta.Size;
        }
    }

    /// <summary>Puts one file's blob in the cache (unless it is there) and links it from the snapshot.</summary>
    static void Fetch(HubClient client, HubCache cache, HubModelId id, string commit, string file, HubFileMetadata meta, Action<long> progress, CancellationToken cancel)
    {
        var blob = cache.BlobPath(meta.ETag);
        if (meta.ETag.Length == 0 || meta.ETag.IndexOfAny(['/', '\\']) >= 0 || meta.ETag.Contains("..", StringComparison.Ordinal))
            throw new QuantTuneException($"{id}: {file}: the Hub's ETag '{meta.ETag}' cannot name a cache file");
        if (!File.Exists(blob))
        {
            // Another process sharing the cache may be fetching the same blob: wait for it, then use its file.
            using var blobLock = HubBlobLock.Acquire(cache.LockPath(meta.ETag), cancel);
            if (File.Exists(blob))
            {
                progress(meta.Size);
                cache.Link(commit, file, meta.ETag);
                return;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            var partial = cache.IncompletePath(meta.ETag);
            client.Download(meta.Location, partial, meta.Size, $"{id}: {file}", progress, cancel);
            long length = new FileInfo(partial).Length;
            if (length != meta.Size)
                throw new QuantTuneException($"{id}: {file}: downloaded {length} bytes, the Hub announced {meta.Size}; run again to resume");
            if (meta.IsLfs)
            {
                var actual = Sha256Of(partial);
                if (!string.Equals(actual, meta.ETag, StringComparison.OrdinalIgnoreCase))
                {
                    File.Delete(partial);
                    throw new QuantTuneException($"{id}: {file}: checksum mismatch: the download's sha256 is {actual}, the Hub's ETag says {meta.ETag}; the bad download was removed, run again");
                }
            }
            if (!File.Exists(blob)) File.Move(partial, blob);
            else File.Delete(partial);
        }
        else progress(meta.Size);
        cache.Link(commit, file, meta.ETag);
    }

    /// <summary>The cached snapshot of the revision when it holds config.json and its weights, else null.</summary>
    public static string? FromCache(HubCache cache, HubModelId id)
    {
        if (cache.CommitOf(id.Revision) is not { } commit || !cache.HasFile(commit, "config.json")) return null;
        var index = cache.SnapshotFile(commit, HubModelFiles.Index);
        if (File.Exists(index)) return HubModelFiles.Shards(index).All(s => cache.HasFile(commit, s)) ? cache.SnapshotFolder(commit) : null;
        return Directory.EnumerateFiles(cache.SnapshotFolder(commit), "*.safetensors").Any(File.Exists) ? cache.SnapshotFolder(commit) : null;
    }

    static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
