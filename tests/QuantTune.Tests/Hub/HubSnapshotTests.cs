using QuantTune.Diagnostics;
using QuantTune.Hub;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Hub;

/// <summary>Downloads from the loopback Hub into a cache laid out as huggingface_hub lays it out.</summary>
public sealed class HubSnapshotTests() : TempFolderTest("qt-hub-")
{
    const string Repo = "quanttune-tests/tiny-qwen2";
    static readonly string[] QwenFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];
    static readonly string[] LlamaFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json",
        "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"];

    string CacheRoot => Path.Combine(Dir, "hub");

    HubSettings Settings(LoopbackHub hub, bool offline = false, string? token = null) =>
        new() { Endpoint = hub.Endpoint, CacheRoot = CacheRoot, Offline = offline, Token = token };

    static LoopbackHub Qwen(string? token = null) => new(Repo, TestData.TinyQwen2Dir, QwenFiles) { RequiredToken = token };

    /// <summary>
    /// The layout huggingface_hub's snapshot_download gives these files: each blob named by its ETag, each snapshot
    /// entry a relative symlink to it, refs/main holding the commit ("link" for symlinks, "file" for refs/main).
    /// </summary>
    static SortedDictionary<string, string> ExpectedLayout(IReadOnlyDictionary<string, byte[]> files)
    {
        var layout = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["refs/main"] = "file " + LoopbackHub.Commit };
        foreach (var (name, bytes) in files)
        {
            var etag = LoopbackHub.ETagOf(name, bytes);
            layout[$"blobs/{etag}"] = $"blob {bytes.Length}";
            layout[$"snapshots/{LoopbackHub.Commit}/{name}"] = $"link ../../blobs/{etag}";
        }
        return layout;
    }

    /// <summary>What a repository folder in the cache holds, in the form of <see cref="ExpectedLayout"/>.</summary>
    static SortedDictionary<string, string> LayoutOf(string folder)
    {
        var layout = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(path);
            if (info.Attributes.HasFlag(FileAttributes.Directory) && info.LinkTarget is null) continue;
            var rel = Path.GetRelativePath(folder, path).Replace('\\', '/');
            layout[rel] = info.LinkTarget is { } target ? $"link {target}" : rel.StartsWith("refs/", StringComparison.Ordinal) ? "file " + File.ReadAllText(path) : $"blob {info.Length}";
        }
        return layout;
    }

    [Fact]
    public void DownloadsAShardedModelInHuggingFaceHubsLayout()
    {
        using var hub = new LoopbackHub("quanttune-tests/tiny-llama", TestData.TinyLlamaDir, LlamaFiles);
        var progress = new List<(long Done, long Total)>();
        var folder = HubSnapshot.Resolve(HubModelId.TryParse("quanttune-tests/tiny-llama")!, Settings(hub), new SyncProgress(progress.Add));

        var repoFolder = Path.Combine(CacheRoot, "models--quanttune-tests--tiny-llama");
        Assert.Equal(Path.Combine(repoFolder, "snapshots", LoopbackHub.Commit), folder);
        Assert.Equal(ExpectedLayout(hub.Files), LayoutOf(repoFolder));
        foreach (var (name, bytes) in hub.Files) Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(folder, name)));
        long total = hub.Files.Values.Sum(b => (long)b.Length);
        Assert.Equal((total, total), progress[^1]);
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.Second.Done >= p.First.Done));
        // LFS files came from the CDN the resolve endpoint redirected to.
        Assert.Equal(3, hub.Requests.Count(r => r.StartsWith("GET /lfs/", StringComparison.Ordinal)));
        Assert.Equal(5_048_576, ModelInspector.Inspect(folder).Parameters);
    }

    [Fact]
    public void ASecondResolveUsesTheCacheWithoutDownloading()
    {
        using var hub = Qwen();
        var id = HubModelId.TryParse(Repo)!;
        var first = HubSnapshot.Resolve(id, Settings(hub));
        int before = hub.ResolveRequests.Count();
        Assert.True(before > 0);
        var second = HubSnapshot.Resolve(id, Settings(hub));
        Assert.Equal(first, second);
        Assert.Equal(before, hub.ResolveRequests.Count());
    }

    [Fact]
    public void ResumesWithARangeRequestAfterTheConnectionIsCut()
    {
        using var hub = Qwen();
        hub.CutOnce = ("model.safetensors", 100_000);
        var folder = HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, Settings(hub));
        Assert.Equal(hub.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        var etag = LoopbackHub.ETagOf("model.safetensors", hub.Files["model.safetensors"]);
        Assert.Contains($"GET /lfs/{etag}?x-id=GetObject range=bytes=100000-", hub.Requests);
        Assert.Empty(Directory.GetFiles(Path.Combine(CacheRoot, "models--quanttune-tests--tiny-qwen2", "blobs"), "*.incomplete"));
    }

    [Fact]
    public void ResumesThePartialFileAnEarlierRunLeft()
    {
        using var hub = Qwen();
        var bytes = hub.Files["model.safetensors"];
        var etag = LoopbackHub.ETagOf("model.safetensors", bytes);
        var blobs = Path.Combine(CacheRoot, "models--quanttune-tests--tiny-qwen2", "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, etag + ".incomplete"), bytes[..4096]);
        var folder = HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, Settings(hub));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Contains($"GET /lfs/{etag}?x-id=GetObject range=bytes=4096-", hub.Requests);
    }

    [Fact]
    public void OfflineModeReadsTheCacheAndSendsNothing()
    {
        var id = HubModelId.TryParse(Repo)!;
        using var hub = Qwen();
        var e = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(id, Settings(hub, offline: true)));
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains(Repo, e.Message);
        var folder = HubSnapshot.Resolve(id, Settings(hub));
        int requests = hub.Requests.Count;
        Assert.Equal(folder, HubSnapshot.Resolve(id, Settings(hub, offline: true)));
        Assert.Equal(requests, hub.Requests.Count);
    }

    [Fact]
    public void WithoutNetworkTheCacheStillAnswersAndOtherwiseTheErrorSaysSo()
    {
        var closed = new HubSettings { Endpoint = "http://127.0.0.1:9", CacheRoot = CacheRoot };
        var e = Assert.Throws<HubUnreachableException>(() => HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, closed));
        Assert.Contains(Repo, e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        using (var hub = Qwen()) HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, Settings(hub));
        // The Hub out of reach, the cached snapshot of main answers.
        var folder = HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, closed);
        Assert.True(File.Exists(Path.Combine(folder, "config.json")));
    }

    [Fact]
    public void AMissingRepositoryRevisionOrFileIsAClearError()
    {
        using var hub = Qwen();
        var noRepo = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(HubModelId.TryParse("quanttune-tests/absent")!, Settings(hub, token: "t")));
        Assert.Contains("no model 'quanttune-tests/absent'", noRepo.Message);
        var noRevision = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(HubModelId.TryParse(Repo + "@v9")!, Settings(hub)));
        Assert.Contains("no revision 'v9'", noRevision.Message);
        // A file the index names and the repository lacks.
        using var partial = new LoopbackHub("quanttune-tests/tiny-llama", TestData.TinyLlamaDir, LlamaFiles[..^1]);
        var noFile = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(HubModelId.TryParse("quanttune-tests/tiny-llama")!, Settings(partial)));
        Assert.Contains("model-00003-of-00003.safetensors", noFile.Message);
        Assert.True(File.Exists(Path.Combine(CacheRoot, "models--quanttune-tests--tiny-llama", ".no_exist", LoopbackHub.Commit, "model-00003-of-00003.safetensors")));
    }

    [Fact]
    public void AGatedModelNeedsItsToken()
    {
        using var hub = Qwen(token: "hf_secret");
        var id = HubModelId.TryParse(Repo)!;
        var e = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(id, Settings(hub)));
        Assert.Contains("gated", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
        var wrong = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(id, Settings(hub, token: "hf_other")));
        Assert.Contains("not accepted", wrong.Message);
        var folder = HubSnapshot.Resolve(id, Settings(hub, token: "hf_secret"));
        Assert.Equal(hub.Files["config.json"], File.ReadAllBytes(Path.Combine(folder, "config.json")));
    }

    [Fact]
    public void AChecksumMismatchPublishesNothing()
    {
        using var hub = Qwen();
        hub.Corrupt = "model.safetensors";
        var e = Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, Settings(hub)));
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        var repoFolder = Path.Combine(CacheRoot, "models--quanttune-tests--tiny-qwen2");
        var etag = LoopbackHub.ETagOf("model.safetensors", hub.Files["model.safetensors"]);
        Assert.False(File.Exists(Path.Combine(repoFolder, "blobs", etag)));
        Assert.False(File.Exists(Path.Combine(repoFolder, "blobs", etag + ".incomplete")));
        Assert.False(File.Exists(Path.Combine(repoFolder, "snapshots", LoopbackHub.Commit, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(repoFolder, "refs", "main")));
    }

    [Fact]
    public void FetchesOneFileAloneForPlan()
    {
        using var hub = Qwen();
        var id = HubModelId.TryParse(Repo)!;
        var config = HubSnapshot.ResolveFile(id, Settings(hub), "config.json");
        Assert.Equal(Path.Combine(CacheRoot, "models--quanttune-tests--tiny-qwen2", "snapshots", LoopbackHub.Commit, "config.json"), config);
        Assert.Equal(hub.Files["config.json"], File.ReadAllBytes(config));
        Assert.Equal(["HEAD /quanttune-tests/tiny-qwen2/resolve/main/config.json", "GET /quanttune-tests/tiny-qwen2/resolve/main/config.json"], hub.Requests);
        Assert.Equal(config, HubSnapshot.ResolveFile(id, Settings(hub, offline: true), "config.json"));
        Assert.Throws<QuantTuneException>(() => HubSnapshot.ResolveFile(id, Settings(hub), "absent.json"));
    }

    /// <summary>A cache written by hand by huggingface_hub's rules (as Python would leave it) is read offline, by revision name and commit.</summary>
    [Fact]
    public void ReadsACacheLaidOutByHuggingFaceHubsRules()
    {
        var repoFolder = Path.Combine(CacheRoot, "models--Qwen--Tiny-Qwen2");
        var snapshot = Path.Combine(repoFolder, "snapshots", LoopbackHub.Commit);
        Directory.CreateDirectory(Path.Combine(repoFolder, "blobs"));
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repoFolder, "refs"));
        foreach (var name in QwenFiles)
        {
            var bytes = File.ReadAllBytes(Path.Combine(TestData.TinyQwen2Dir, name));
            var etag = LoopbackHub.ETagOf(name, bytes);
            File.WriteAllBytes(Path.Combine(repoFolder, "blobs", etag), bytes);
            File.CreateSymbolicLink(Path.Combine(snapshot, name), $"../../blobs/{etag}");
        }
        File.WriteAllText(Path.Combine(repoFolder, "refs", "v1.0"), LoopbackHub.Commit);
        var offline = new HubSettings { Endpoint = "http://127.0.0.1:9", CacheRoot = CacheRoot, Offline = true };

        Assert.Equal(snapshot, HubSnapshot.Resolve(HubModelId.TryParse("Qwen/Tiny-Qwen2@v1.0")!, offline));
        Assert.Equal(snapshot, HubSnapshot.Resolve(HubModelId.TryParse($"Qwen/Tiny-Qwen2@{LoopbackHub.Commit}")!, offline));
        Assert.Throws<QuantTuneException>(() => HubSnapshot.Resolve(HubModelId.TryParse("Qwen/Tiny-Qwen2")!, offline)); // no refs/main
        Assert.Equal("qwen2", ModelInspector.Inspect(snapshot).Config.ModelType);
    }

    [Theory]
    [InlineData("Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "main")]
    [InlineData("meta-llama/Llama-3.1-8B@refs/pr/1", "meta-llama/Llama-3.1-8B", "refs/pr/1")]
    [InlineData("org/name@0123456789abcdef0123456789abcdef01234567", "org/name", "0123456789abcdef0123456789abcdef01234567")]
    [InlineData("gpt2", "gpt2", "main")]
    [InlineData("distilgpt2@v1.0", "distilgpt2", "v1.0")]
    [InlineData("./local", null, null)]
    [InlineData("/gpt2", null, null)]
    [InlineData("a/b/c", null, null)]
    [InlineData("org/../x", null, null)]
    [InlineData("org/name@", null, null)]
    public void ParsesHubIds(string text, string? repo, string? revision)
    {
        var id = HubModelId.TryParse(text);
        Assert.Equal(repo, id?.Repo);
        Assert.Equal(revision, id?.Revision);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class SyncProgress(Action<(long, long)> report) : IProgress<(long Done, long Total)>
    {
        public void Report((long Done, long Total) value) => report(value);
    }

    [Fact]
    public async Task TwoProcessesDownloadingOneModelIntoOneCacheShareOneBlob()
    {
        // The CDN sends model.safetensors (6 MiB) over about 2 s, so the two downloads overlap.
        using var hub = new LoopbackHub(Repo, TestData.TinyQwen2Dir, QwenFiles) { SlowChunkMilliseconds = 20 };
        var runs = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            QuantTune.Tests.Runtime.ChildProcess.Run(Dir, TimeSpan.FromMinutes(3), HubDownloadWork.Command, hub.Endpoint, CacheRoot, Repo))).ToArray();
        foreach (var result in await Task.WhenAll(runs)) Assert.True(result.ExitCode == 0, result.Describe());

        var cache = new HubCache(CacheRoot, HubModelId.TryParse(Repo)!);
        var etag = LoopbackHub.ETagOf("model.safetensors", hub.Files["model.safetensors"]);
        Assert.Equal(hub.Files["model.safetensors"], File.ReadAllBytes(cache.BlobPath(etag)));
        Assert.Equal(hub.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(cache.SnapshotFolder(LoopbackHub.Commit), "model.safetensors")));
        Assert.Empty(Directory.GetFiles(Path.Combine(cache.Folder, "blobs"), "*.incomplete"));
        Assert.True(File.Exists(cache.LockPath(etag)), "the lock lies where huggingface_hub puts it");
        // One process downloaded the weights; the other waited on the lock, then found them.
        Assert.Single(hub.Requests, r => r.StartsWith("GET /lfs/", StringComparison.Ordinal));
    }

    [Fact]
    public void ARenamedRepositoryIsFollowedThroughTheHubsRelativeRedirects()
    {
        // The Hub answers a renamed repository's API and resolve URLs with a 307 to the new name, as a relative Location.
        using var hub = new LoopbackHub(Repo, TestData.TinyQwen2Dir, QwenFiles) { RenamedFrom = "quanttune-tests/old-name" };
        var folder = HubSnapshot.Resolve(HubModelId.TryParse("quanttune-tests/old-name")!, Settings(hub));
        foreach (var file in QwenFiles) Assert.Equal(hub.Files[file], File.ReadAllBytes(Path.Combine(folder, file)));
        Assert.Contains(hub.Requests, r => r.StartsWith("GET /api/models/quanttune-tests/old-name/", StringComparison.Ordinal));
        Assert.Contains(hub.Requests, r => r.StartsWith("HEAD /quanttune-tests/old-name/resolve/", StringComparison.Ordinal));
        Assert.Contains(hub.Requests, r => r.StartsWith("HEAD /" + Repo + "/resolve/", StringComparison.Ordinal));
    }

    [Fact]
    public void AnIdWithoutANamespaceIsFollowedToItsRepositoryAndCachedUnderItsOwnName()
    {
        // The Hub serves gpt2 by a 307 to openai-community/gpt2; huggingface_hub caches it as models--gpt2.
        string[] files = ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];
        using var hub = new LoopbackHub("openai-community/gpt2", TestData.Fixture("tiny-gpt2"), files) { RenamedFrom = "gpt2" };
        var folder = HubSnapshot.Resolve(HubModelId.TryParse("gpt2")!, Settings(hub));
        Assert.Equal(Path.Combine(CacheRoot, "models--gpt2", "snapshots", LoopbackHub.Commit), folder);
        foreach (var file in files) Assert.Equal(hub.Files[file], File.ReadAllBytes(Path.Combine(folder, file)));
        Assert.Contains(hub.Requests, r => r.StartsWith("GET /api/models/gpt2/", StringComparison.Ordinal));
    }

    [Fact]
    public void TheTokenGoesToTheHubAndNeverToTheCdnOnAnotherHost()
    {
        // The real Hub sends LFS downloads to a CDN on another host; huggingface_hub does not forward the token there.
        using var hub = new LoopbackHub(Repo, TestData.TinyQwen2Dir, QwenFiles, cdnOnItsOwnPort: true) { RequiredToken = "hf_secret" };
        Assert.NotEqual(hub.Endpoint, hub.CdnEndpoint);
        var folder = HubSnapshot.Resolve(HubModelId.TryParse(Repo)!, Settings(hub, token: "hf_secret"));
        Assert.Equal(hub.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Contains(hub.Requests, r => r.StartsWith("GET /lfs/", StringComparison.Ordinal));
        Assert.Contains(hub.AuthorizedRequests, r => r.Contains("/resolve/", StringComparison.Ordinal));
        Assert.DoesNotContain(hub.AuthorizedRequests, r => r.Contains("/lfs/", StringComparison.Ordinal));
    }
}
