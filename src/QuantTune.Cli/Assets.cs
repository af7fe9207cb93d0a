using QuantTune.Diagnostics;

namespace QuantTune.Cli;

/// <summary>The embedded default model and data, copied next to the executable at build time.</summary>
public static class Assets
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "assets");
    public static string DefaultModel => Existing(Path.Combine(Root, "models", "tiny-llama"));
    public static string WikiTextTest => Existing(Path.Combine(Root, "data", "wikitext-2", "wiki.test.raw"));

    static string Existing(string path) =>
        File.Exists(path) || Directory.Exists(path) ? path
        : throw new QuantTuneException($"{path}: the embedded asset is missing; rebuild the CLI (the assets folder is copied at build time)");
}
