namespace QuantTune.Hub;

/// <summary>
/// Where the Hub is and where its files are cached, read from the environment variables that
/// Python's huggingface_hub reads, so that both share one cache and one login:
/// <c>HF_ENDPOINT</c> (default https://huggingface.co), <c>HF_HUB_CACHE</c> (else
/// <c>$HF_HOME/hub</c>, <c>HF_HOME</c> defaulting to <c>$XDG_CACHE_HOME/huggingface</c> or
/// <c>~/.cache/huggingface</c>), <c>HF_HUB_OFFLINE</c> (or <c>TRANSFORMERS_OFFLINE</c>), and the
/// token: <c>HF_TOKEN</c>, else the file <c>HF_TOKEN_PATH</c> (default <c>$HF_HOME/token</c>). Paths expand
/// <c>~</c> and <c>$VARIABLES</c> as huggingface_hub expands them.
/// </summary>
public sealed partial record HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public required string Endpoint { get; init; }
    public required string CacheRoot { get; init; }
    public bool Offline { get; init; }
    public string? Token { get; init; }

    public static HubSettings FromEnvironment()
    {
        var home = ExpandPath(Variable("HF_HOME") ?? Path.Combine(Variable("XDG_CACHE_HOME") ?? Path.Combine(UserHome, ".cache"), "huggingface"));
        var tokenPath = ExpandPath(Variable("HF_TOKEN_PATH") ?? Path.Combine(home, "token"));
        return new HubSettings
        {
            Endpoint = (Variable("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            CacheRoot = ExpandPath(Variable("HF_HUB_CACHE") ?? Variable("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub")),
            Offline = IsTrue(Variable("HF_HUB_OFFLINE") ?? Variable("TRANSFORMERS_OFFLINE")),
            Token = Variable("HF_TOKEN") ?? (File.Exists(tokenPath) ? File.ReadAllText(tokenPath).Trim() is { Length: > 0 } t ? t : null : null),
        };
    }

    /// <summary>
    /// As huggingface_hub reads its paths, <c>os.path.expandvars(os.path.expanduser(value))</c>: a leading <c>~</c> is
    /// the user's home, and <c>$NAME</c> or <c>${NAME}</c> the variable's value where it is set (left as written where not).
    /// </summary>
    internal static string ExpandPath(string value)
    {
        if (value == "~" || value.StartsWith("~/", StringComparison.Ordinal)) value = UserHome + value[1..];
        return EnvironmentReference().Replace(value, m => Environment.GetEnvironmentVariable(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value) ?? m.Value);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\$\{([^}]+)\}|\$([A-Za-z0-9_]+)")]
    private static partial System.Text.RegularExpressions.Regex EnvironmentReference();

    static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    // huggingface_hub's _is_true: "1", "ON", "YES", "TRUE", any case.
    static bool IsTrue(string? value) => value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";
}
