using QuantTune.Hub;

namespace QuantTune.Tests.Hub;

/// <summary>A child process's work: downloads a model from a (loopback) Hub into a cache, as `--model org/name` does.</summary>
public static class HubDownloadWork
{
    public const string Command = "hub-download";

    public static int Run(string endpoint, string cacheRoot, string repo)
    {
        var folder = HubSnapshot.Resolve(HubModelId.TryParse(repo)!, new HubSettings { Endpoint = endpoint, CacheRoot = cacheRoot });
        Console.WriteLine(folder);
        return 0;
    }
}
