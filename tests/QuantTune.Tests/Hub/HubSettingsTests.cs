using QuantTune.Hub;

namespace QuantTune.Tests.Hub;

/// <summary>HF_HOME, HF_HUB_CACHE and HF_TOKEN_PATH expand as huggingface_hub expands them (os.path.expanduser, then expandvars).</summary>
public sealed class HubSettingsTests
{
    static readonly string Home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    [Fact]
    public void TildeAndVariablesExpandAsInHuggingfaceHub()
    {
        string name = "QT_EXPAND_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "/data/hf");
        try
        {
            Assert.Equal(Path.Combine(Home, ".cache/huggingface"), HubSettings.ExpandPath("~/.cache/huggingface"));
            Assert.Equal(Home, HubSettings.ExpandPath("~"));
            Assert.Equal("/data/hf/hub", HubSettings.ExpandPath($"${name}/hub"));
            Assert.Equal("/data/hf/hub", HubSettings.ExpandPath($"${{{name}}}/hub"));
            // Unset variables and ~user stay as written, as Python leaves them.
            Assert.Equal("$QT_SURELY_UNSET_VARIABLE/hub", HubSettings.ExpandPath("$QT_SURELY_UNSET_VARIABLE/hub"));
            Assert.Equal("~someone/hub", HubSettings.ExpandPath("~someone/hub"));
            Assert.Equal("/plain/path", HubSettings.ExpandPath("/plain/path"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}
