using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using QuantTune.Diagnostics;
using QuantTune.Tokenization;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The <c>tokenizer.ggml.pre</c> value that llama.cpp's convert_hf_to_gguf.py writes: llama.cpp splits text before
/// BPE with a regex of its own chosen by this name, so a wrong name gives other ids than Hugging Face's. The
/// converter names the pre-tokenizer by the sha256 of <c>str(tokenizer.encode(chktxt))</c> (<c>get_vocab_base_pre</c>);
/// so does this, with the converter's table (<see cref="LlamaCppPreTokenizerHashes"/>).
/// </summary>
/// <remarks>
/// <c>tokenizer.encode</c> is transformers' AutoTokenizer, which frames the ids with special tokens: by the
/// tokenizer.json post-processor, except that transformers' Llama, CodeLlama and Gemma tokenizers rebuild it from
/// tokenizer_config.json's <c>add_bos_token</c> / <c>add_eos_token</c> (DeepSeek-V3's BOS comes from there).
/// A hash missing from the table is refused with its value, except for a tokenizer whose pre-tokenizer is exactly
/// GPT-2's (ByteLevel with its regex, no prefix space, no normalizer), which is llama.cpp's <c>gpt-2</c> pre-tokenizer by construction.
/// SentencePiece-style vocabularies (BPE with byte_fallback, written as <c>llama</c>) get <c>default</c>, as in the converter.
/// </remarks>
public static class LlamaCppPreTokenizer
{
    /// <summary>The converter's chktxt (convert_hf_to_gguf.py, commit <see cref="LlamaCppPreTokenizerHashes.Commit"/>).</summary>
    public const string Chktxt = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";

    private static readonly string[] RebuildsFramingFromConfig = ["LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast"];

    /// <summary>The name written, the chktxt hash (empty for SentencePiece-style vocabularies) and how the name was found.</summary>
    public sealed record Choice(string Name, string ChktxtSha256, string Reason);

    /// <summary>
    /// The pre-tokenizer name for the tokenizer at <paramref name="tokenizerPath"/> (loaded as <paramref name="tokenizer"/>);
    /// <paramref name="requested"/>, when given, is used instead (it must be a name llama.cpp knows).
    /// </summary>
    /// <exception cref="QuantTuneException">The hash is not llama.cpp's for any pre-tokenizer, or <paramref name="requested"/> is not a known name.</exception>
    public static Choice Choose(HfTokenizer tokenizer, string tokenizerPath, string? requested = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokenizerPath);
        if (requested is not null)
        {
            return LlamaCppPreTokenizerHashes.Names.Contains(requested)
                ? new Choice(requested, "", "requested")
                : throw new InvalidSettingException("LlamaCppPreTokenizer.Choose(requested)", requested, $"not a pre-tokenizer name of llama.cpp's converter; expected one of {string.Join(", ", LlamaCppPreTokenizerHashes.Names.Order(StringComparer.Ordinal))}");
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerPath));
        JsonElement root = doc.RootElement;
        if (root.TryGetProperty("model", out JsonElement model) && model.TryGetProperty("byte_fallback", out JsonElement fallback) && fallback.ValueKind == JsonValueKind.True)
        {
            return new Choice("default", "", "SentencePiece-style vocabulary (tokenizer.ggml.model llama): the converter writes 'default'");
        }

        string hash = Sha256(ChktxtIds(tokenizer, tokenizerPath));
        if (LlamaCppPreTokenizerHashes.ByHash.TryGetValue(hash, out string? name))
        {
            return new Choice(name, hash, $"chktxt sha256 {hash} is llama.cpp's '{name}'");
        }

        if (IsGpt2PreTokenizer(root))
        {
            return new Choice("gpt-2", hash, $"chktxt sha256 {hash} is not in llama.cpp's table, but the pre-tokenizer is GPT-2's (ByteLevel with its regex, no prefix space, no normalizer)");
        }

        throw new InvalidSettingException("LlamaCppPreTokenizer.Choose(requested)", null,
            $"{tokenizerPath}: llama.cpp's converter does not know this tokenizer's pre-tokenizer (chktxt sha256 {hash}, not in the table of convert_hf_to_gguf.py at {LlamaCppPreTokenizerHashes.Commit}); "
            + "give the name of the llama.cpp pre-tokenizer that splits text as this tokenizer does");
    }

    /// <summary>The ids transformers' <c>tokenizer.encode(chktxt)</c> gives (see the class remarks).</summary>
    public static IReadOnlyList<int> ChktxtIds(HfTokenizer tokenizer, string tokenizerPath)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerPath)) ?? ".", "tokenizer_config.json");
        if (File.Exists(config))
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(config));
            JsonElement root = doc.RootElement;
            bool rebuilds = root.TryGetProperty("tokenizer_class", out JsonElement cls) && cls.ValueKind == JsonValueKind.String && RebuildsFramingFromConfig.Contains(cls.GetString());
            bool? addBos = Flag(root, "add_bos_token");
            bool? addEos = Flag(root, "add_eos_token");
            if (rebuilds && (addBos is not null || addEos is not null))
            {
                var ids = new List<int>();
                if (addBos == true && tokenizer.BosId is int bos)
                {
                    ids.Add(bos);
                }

                ids.AddRange(tokenizer.Encode(Chktxt));
                if (addEos == true && tokenizer.EosId is int eos)
                {
                    ids.Add(eos);
                }

                return ids;
            }
        }

        return tokenizer.Encode(Chktxt, addSpecialTokens: true);
    }

    /// <summary>sha256 of the ids written as Python writes a list of ints (<c>[1, 2, 3]</c>), in lowercase hex.</summary>
    public static string Sha256(IReadOnlyList<int> ids)
    {
        string text = "[" + string.Join(", ", ids) + "]";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static bool? Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    private static bool IsGpt2PreTokenizer(JsonElement root)
    {
        bool noNormalizer = !root.TryGetProperty("normalizer", out JsonElement normalizer) || normalizer.ValueKind == JsonValueKind.Null;
        return noNormalizer
            && root.TryGetProperty("pre_tokenizer", out JsonElement pre) && pre.ValueKind == JsonValueKind.Object
            && pre.TryGetProperty("type", out JsonElement type) && type.GetString() == "ByteLevel"
            && (!pre.TryGetProperty("use_regex", out JsonElement regex) || regex.ValueKind == JsonValueKind.True)
            && (!pre.TryGetProperty("add_prefix_space", out JsonElement prefix) || prefix.ValueKind == JsonValueKind.False);
    }
}
