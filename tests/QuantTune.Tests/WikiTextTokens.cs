using System.Collections.Concurrent;
using System.Security.Cryptography;
using QuantTune.Tokenization;

namespace QuantTune.Tests;

/// <summary>
/// WikiText-2's test file (<see cref="TestData.WikiTestRaw"/>) encoded once per distinct tokenizer.json: most fixtures
/// share tiny-qwen2's tokenizer, so the parity, perplexity and GPTQ tests stop re-encoding the same 1.3 MB each.
/// The ids are what <see cref="HfTokenizer.Encode"/> gives for the whole file, without special tokens.
/// </summary>
internal static class WikiTextTokens
{
    static readonly ConcurrentDictionary<string, Lazy<int[]>> ByTokenizer = new();

    /// <summary>The whole file's ids under <paramref name="tokenizer"/> (read-only: shared between tests).</summary>
    public static IReadOnlyList<int> Of(HfTokenizer tokenizer)
    {
        string key = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(tokenizer.Source)));
        return ByTokenizer.GetOrAdd(key, _ => new Lazy<int[]>(() => [.. tokenizer.Encode(File.ReadAllText(TestData.WikiTestRaw))])).Value;
    }
}
