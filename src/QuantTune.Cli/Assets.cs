using QuantTune.Diagnostics;

namespace QuantTune.Cli;

/// <summary>The embedded default model and data, copied next to the executable at build time.</summary>
public static class Assets
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "assets");
    public static string DefaultModel => Existing(Path.Combine(Root, "models", "tiny-llama"));
    public static string WikiTextTest => Existing(Path.Combine(Root, "data", "wikitext-2", "wiki.test.raw"));
    public static string TinyShakespeare => Existing(Path.Combine(Root, "data", "tiny-shakespeare.txt"));
    /// <summary>The first 1 MB of WikiText-2 train (non-blank lines): calibration text, disjoint from the test set.</summary>
    public static string WikiTextTrain => Existing(Path.Combine(Root, "data", "wikitext-2", "wiki.train.raw.first1MB-nonblank.txt"));

    /// <summary>The name that stands for the embedded model wherever a model is given.</summary>
    public const string DefaultModelName = "tiny-llama";

    /// <summary><paramref name="value"/>, or the embedded model's folder when it is "tiny-llama" and no such file or folder exists here.</summary>
    public static string ModelPath(string value) =>
        value == DefaultModelName && !Directory.Exists(value) && !File.Exists(value) ? DefaultModel : value;

    static string Existing(string path) =>
        File.Exists(path) || Directory.Exists(path) ? path
        : throw new QuantTuneException($"{path}: the embedded asset is missing; rebuild the CLI (the assets folder is copied at build time)");
}
