using QuantTune.Diagnostics;
using QuantTune.Hub;

namespace QuantTune.Tests.Hub;

/// <summary>
/// The library's one entry for "a model the caller named": a local folder as it is, a Hub id downloaded into the cache
/// (the loopback Hub), and anything else refused naming what was given and what was expected.
/// </summary>
public sealed class ModelSourceTests() : TempFolderTest("qt-source-")
{
    [Fact]
    public void ALocalFolderIsItselfAndAHubIdIsItsSnapshot()
    {
        Assert.Equal(TestData.TinyQwen2Dir, ModelSource.Resolve(TestData.TinyQwen2Dir));

        string[] files = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];
        using var hub = new LoopbackHub("quanttune-tests/tiny-qwen2", TestData.TinyQwen2Dir, files);
        var folder = ModelSource.Resolve("quanttune-tests/tiny-qwen2", new HubSettings { Endpoint = hub.Endpoint, CacheRoot = Path.Combine(Dir, "hub") });
        Assert.Equal(Path.Combine(Dir, "hub", "models--quanttune-tests--tiny-qwen2", "snapshots", LoopbackHub.Commit), folder);
        Assert.Equal(File.ReadAllBytes(Path.Combine(TestData.TinyQwen2Dir, "model.safetensors")), File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
    }

    [Fact]
    public void NeitherAPathNorAHubIdIsRefusedByName()
    {
        var e = Assert.Throws<QuantTuneException>(() => ModelSource.Resolve(Path.Combine(Dir, "no such", "model@")));
        Assert.Contains("no such folder or file, and not a Hub id", e.Message);
    }
}
