namespace QuantTune.Hub;

/// <summary>
/// Where the Hub is and where its files are cached, read from the environment variables that
/// Python's huggingface_hub reads, so that both share one cache and one login:
/// <c>HF_ENDPOINT</c> (default https://huggingface.co), <c>HF_HUB_CACHE</c> (else
/// <c>$HF_HOME/hub</c>, <c>HF_HOME</c> defaulting to <c>$XDG_CACHE_HOME/huggingface</c> or
/// <c>~/.cache/huggingface</c>), <c>HF_HUB_OFFLINE</c> (or <c>TRANSFORMERS_OFFLINE</c>), and the
/// token: <c>HF_TOKEN</c>, else the file <c>HF_TOKEN_PATH</c> (default <c>$HF_HOME/token</c>).
/// </summary>
public sealed record HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public required string Endpoint { get; init; }
    public required string CacheRoot { get; init; }
    public bool Offline { get; init; }
    public string? Token { get; init; }

    public static HubSettings FromEnvironment()
    {
        var home = Variable("HF_HOME") ?? Path.Combine(Variable("XDG_CACHE_HOME") ?? Path.Combine(UserHome, ".cache"), "huggingface");
        var tokenPath = Variable("HF_TOKEN_PATH") ?? Path.Combine(home, "token");
        return new HubSettings
        {
            Endpoint = (Variable("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            CacheRoot = Variable("HF_HUB_CACHE") ?? Variable("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub"),
            Offline = IsTrue(Variable("HF_HUB_OFFLINE") ?? Variable("TRANSFORMERS_OFFLINE")),
            Token = Variable("HF_TOKEN") ?? (File.Exists(tokenPath) ? File.ReadAllText(tokenPath).Trim() is { Length: > 0 } t ? t : null : null),
        };
    }

    static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    // huggingface_hub's _is_true: "1", "ON", "YES", "TRUE", any case.
    static bool IsTrue(string? value) => value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";
}
