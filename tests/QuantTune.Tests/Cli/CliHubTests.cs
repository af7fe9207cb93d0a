using System.Text.Json;
using QuantTune.Tests.Hub;

namespace QuantTune.Tests.Cli;

/// <summary>A Hub id as --model, against the loopback Hub (HF_ENDPOINT) and a fresh cache (HF_HUB_CACHE).</summary>
public sealed class CliHubTests() : TempFolderTest("qt-cli-hub-")
{
    [Fact]
    public void InfoDownloadsAHubIdIntoTheCacheAndReadsIt()
    {
        using var hub = new LoopbackHub("quanttune-tests/tiny-qwen2", TestData.TinyQwen2Dir,
            ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]);
        var env = new Dictionary<string, string> { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HUB_CACHE"] = Dir, ["HF_TOKEN"] = "" };
        var r = CliRunner.RunWith(env, "info", "--model", "quanttune-tests/tiny-qwen2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal("qwen2", json.GetProperty("model_type").GetString());
        Assert.True(File.Exists(Path.Combine(Dir, "models--quanttune-tests--tiny-qwen2", "refs", "main")));

        var missing = CliRunner.RunWith(env, "info", "--model", "quanttune-tests/absent");
        CliRunner.AssertCleanFailure(missing, "quanttune-tests/absent", "HF_TOKEN");
    }
}
