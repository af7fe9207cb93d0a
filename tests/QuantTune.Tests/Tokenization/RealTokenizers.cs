using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>
/// The real tokenizers in tests/fixtures/tokenizers (gzip-compressed tokenizer.json and tokenizer_config.json),
/// each decompressed once per test run, and the ids that Hugging Face tokenizers gave for them
/// (expected.json, from tools/tokenizer-references/make-references.mjs).
/// </summary>
internal static class RealTokenizers
{
    /// <summary>Models shipped as compressed files: Qwen3, Gemma 3, Llama 3.1, DeepSeek-V3, cl100k_base (Phi-4's vocabulary), GPT-2.</summary>
    public static readonly string[] Shipped = ["qwen3", "gemma3", "llama3.1", "deepseek-v3", "cl100k", "gpt2"];

    private static readonly ConcurrentDictionary<string, Lazy<(HfTokenizer Tokenizer, string Directory)>> Loaded = new();

    public static string FixtureDir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", name);

    /// <summary>The folder holding the model's tokenizer.json and tokenizer_config.json (decompressed for shipped models).</summary>
    public static string Directory(string name) => Load(name).Directory;

    public static HfTokenizer Tokenizer(string name) => Load(name).Tokenizer;

    public static Expected ReadExpected(string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir(name), "expected.json")));
        JsonElement root = doc.RootElement;
        var cases = root.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("text").GetString()!,
            Ints(c.GetProperty("ids")),
            Ints(c.GetProperty("ids_with_special_tokens")),
            c.GetProperty("decoded").GetString()!)).ToList();
        return new Expected(root.GetProperty("chktxt_sha256").GetString()!, cases);
    }

    private static (HfTokenizer Tokenizer, string Directory) Load(string name) => Loaded.GetOrAdd(name, n => new Lazy<(HfTokenizer, string)>(() =>
    {
        string directory = n switch
        {
            "tiny-llama" => TestData.TinyLlamaDir,
            "tiny-qwen2" => TestData.TinyQwen2Dir,
            _ => Decompress(n),
        };
        return (HfTokenizer.FromDirectory(directory), directory);
    })).Value;

    private static string Decompress(string name)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"quanttune-tokenizer-{name}-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(directory);
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            using FileStream source = File.OpenRead(Path.Combine(FixtureDir(name), file + ".gz"));
            using var gzip = new GZipStream(source, CompressionMode.Decompress);
            using FileStream target = File.Create(Path.Combine(directory, file));
            gzip.CopyTo(target);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(directory, recursive: true);
        return directory;
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public sealed record Case(string Text, int[] Ids, int[] IdsWithSpecialTokens, string Decoded);

    public sealed record Expected(string ChktxtSha256, List<Case> Cases);
}
