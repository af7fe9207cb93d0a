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

    [Fact]
    public void AnIdWithoutANamespaceDownloadsIntoACacheUnderATildeHfHome()
    {
        // gpt2 as the Hub serves it (a 307 to openai-community/gpt2), HF_HOME=~/hf as a shell profile may set it unexpanded.
        using var hub = new LoopbackHub("openai-community/gpt2", TestData.Fixture("tiny-gpt2"),
            ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]) { RenamedFrom = "gpt2" };
        var env = new Dictionary<string, string> { ["HF_ENDPOINT"] = hub.Endpoint, ["HOME"] = Dir, ["HF_HOME"] = "~/hf", ["HF_HUB_CACHE"] = "", ["HF_TOKEN"] = "" };
        var r = CliRunner.RunIn(Dir, env, "info", "--model", "gpt2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("gpt2", JsonDocument.Parse(r.Stdout).RootElement.GetProperty("model_type").GetString());
        Assert.True(File.Exists(Path.Combine(Dir, "hf", "hub", "models--gpt2", "refs", "main")));
        Assert.False(Directory.Exists(Path.Combine(Dir, "~")), "~ was taken for a folder's name");
    }
}
