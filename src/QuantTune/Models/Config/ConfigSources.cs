using QuantTune.Diagnostics;
using QuantTune.Hub;

namespace QuantTune.Models.Config;

/// <summary>
/// Where a model's config.json is found from what a user typed: a checkpoint folder, a
/// config.json file, the name of a shipped config (<c>llama-3.1-8b</c>, listed by
/// <see cref="ShippedNames"/>), or a Hub id (<c>org/name[@revision]</c>): its config.json in the local
/// Hugging Face cache, laid out as huggingface_hub lays it out
/// (<c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>), else downloaded
/// alone into it (<see cref="HubSnapshot.ResolveFile"/>).
/// </summary>
public static class ConfigSources
{
    /// <summary>The folder of shipped configs: assets/configs beside the application.</summary>
    public static string ShippedFolder => Path.Combine(AppContext.BaseDirectory, "assets", "configs");

    public static IReadOnlyList<string> ShippedNames =>
        Directory.Exists(ShippedFolder)
            ? Directory.GetFiles(ShippedFolder, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>The path (folder or config.json) that <paramref name="model"/> names.</summary>
    public static string Resolve(string model)
    {
        if (!model.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) IO.AtomicDirectory.RestoreIfMissing(model);
        if (Directory.Exists(model) || File.Exists(model)) return model;
        var shipped = Path.Combine(ShippedFolder, model.Trim().ToLowerInvariant() + ".json");
        if (File.Exists(shipped)) return shipped;
        if (HubCacheConfig(model) is { } cached) return cached;
        var names = ShippedNames;
        var what = $"{model}: not a folder, a config.json, a shipped config" + (names.Count > 0 ? $" ({string.Join(", ", names)})" : "") + " or a Hub id";
        if (HubModelId.TryParse(model) is not { } id) throw new QuantTuneException($"{what} ([org/]name[@revision])");
        try { return HubSnapshot.ResolveFile(id, HubSettings.FromEnvironment(), "config.json"); }
        catch (QuantTuneException e) { throw new QuantTuneException($"{what} in the local cache ({HubCacheRoot()}) or on the Hub: {e.Message}", e); }
    }

    /// <summary>The local Hugging Face hub cache folder (<see cref="HubSettings"/>).</summary>
    public static string HubCacheRoot() => HubSettings.FromEnvironment().CacheRoot;

    /// <summary>config.json of a Hub id's snapshot in the cache (the revision's ref, "main" by default), or null.</summary>
    public static string? HubCacheConfig(string id)
    {
        if (HubModelId.TryParse(id) is not { } hub) return null;
        var cache = new HubCache(HubCacheRoot(), hub);
        return cache.CommitOf(hub.Revision) is { } commit && cache.HasFile(commit, "config.json") ? cache.SnapshotFile(commit, "config.json") : null;
    }
}
