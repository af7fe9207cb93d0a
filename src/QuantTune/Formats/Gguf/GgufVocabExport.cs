using System.Text.Json;
using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.Tokenization;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// Writes a tokenizer.json as llama.cpp's <c>tokenizer.ggml.*</c> metadata, as convert_hf_to_gguf.py does:
/// byte-level BPE as <c>gpt2</c> (tokens, token types, merges), and BPE with byte_fallback (Llama-2 /
/// Mistral, ▁ word marks from a Metaspace pre-tokenizer or a Prepend normalizer) as <c>llama</c>
/// (SentencePiece-style tokens, scores and token types, with <c>&lt;0xNN&gt;</c> byte tokens).
/// </summary>
/// <remarks>
/// For <c>llama</c> the score of a token is minus the rank of the first merge that produces it, so
/// llama.cpp's SentencePiece merge order (highest score first) is the BPE merge order; tokens no
/// merge produces rank after every merge, and byte, control and unknown tokens score 0 as in a
/// SentencePiece model. The merges are written too (llama.cpp ignores them for <c>llama</c>), so
/// that QuantTune reads back exactly the BPE it was given.
/// </remarks>
public static partial class GgufVocabExport
{
    /// <summary>llama.cpp's token types (llama_token_type / gguf TokenType).</summary>
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    [GeneratedRegex("^<0x[0-9A-Fa-f]{2}>$")]
    public static partial Regex ByteToken();

    /// <summary>
    /// Adds the tokenizer of <paramref name="tokenizerPath"/> (loaded as <paramref name="tokenizer"/>) to <paramref name="w"/>, padded to
    /// <paramref name="config"/>'s vocabulary; <c>tokenizer.ggml.pre</c> is <see cref="LlamaCppPreTokenizer.Choose"/>'s name, or
    /// <paramref name="preTokenizer"/> when given. Returns the choice.
    /// </summary>
    /// <exception cref="QuantTuneException">llama.cpp's converter would not recognise the pre-tokenizer and none was given.</exception>
    public static LlamaCppPreTokenizer.Choice Add(GgufWriter w, string tokenizerPath, HfTokenizer tokenizer, ModelConfig config, string? preTokenizer = null)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerPath));
        var root = doc.RootElement;
        var bpe = root.GetProperty("model");
        // llama.cpp's gpt2 and llama vocabularies are BPE: a Unigram, WordPiece or WordLevel model has no merges to write.
        if (!bpe.TryGetProperty("type", out var modelType) || modelType.ValueKind != JsonValueKind.String || modelType.GetString() != "BPE")
            throw new InvalidFormatException(tokenizerPath, "model.type", $"is {(modelType.ValueKind == JsonValueKind.String ? $"'{modelType.GetString()}'" : "missing")}; GGUF export writes BPE vocabularies only (llama.cpp's gpt2 and llama), expected 'BPE'");
        LlamaCppPreTokenizer.Choice pre = LlamaCppPreTokenizer.Choose(tokenizer, tokenizerPath, preTokenizer);
        bool llama = bpe.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        var added = new Dictionary<int, bool>();
        if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
            foreach (var t in at.EnumerateArray())
                added[t.GetProperty("id").GetInt32()] = t.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True;
        var merges = Merges(bpe, tokenizerPath);

        // One token per embedding row, as llama.cpp requires: added tokens past vocab_size (Gemma 3 1B's
        // <image_soft_token>) are left out, as convert_hf_to_gguf.py leaves them ("id is out of range").
        int n = config.VocabSize;
        var tokens = new string[n];
        var types = new int[n];
        int? unk = llama ? tokenizer.UnkId : null;
        for (int id = 0; id < n; id++)
        {
            string? token = tokenizer.IdToToken(id);
            tokens[id] = token ?? $"[PAD{id}]";
            types[id] = token is null ? Unused
                : llama && ByteToken().IsMatch(token) ? Byte
                : id == unk ? Unknown
                : added.TryGetValue(id, out bool special) ? (special ? Control : UserDefined)
                : Normal;
        }

        w.Add("tokenizer.ggml.model", GgufValue.Of(llama ? "llama" : "gpt2"));
        w.Add("tokenizer.ggml.pre", GgufValue.Of(pre.Name));
        w.Add("tokenizer.ggml.tokens", GgufValue.Of(tokens));
        if (llama) w.Add("tokenizer.ggml.scores", GgufValue.Of(Scores(tokens, types, merges)));
        w.Add("tokenizer.ggml.token_type", GgufValue.Of(types));
        w.Add("tokenizer.ggml.merges", GgufValue.Of(merges.ToArray()));
        int? bos = tokenizer.BosId ?? config.BosTokenId;
        int? eos = tokenizer.EosId ?? (config.EosTokenIds.FirstOrDefault(-1) is int first and >= 0 ? first : null);
        if (bos is int b) w.Add("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)b));
        if (eos is int e) w.Add("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)e));
        if (unk is int u) w.Add("tokenizer.ggml.unknown_token_id", GgufValue.Of((uint)u));
        if ((tokenizer.PadId ?? config.PadTokenId) is int pad) w.Add("tokenizer.ggml.padding_token_id", GgufValue.Of((uint)pad));
        var framing = tokenizer.Encode("", addSpecialTokens: true);
        int framed = framing.Count;
        bool addBos = framed > 0 && framing[0] == bos;
        bool addEos = framed > (addBos ? 1 : 0) && framing[framed - 1] == eos;
        // As gguf-py's SpecialVocab: tokenizer_config.json's add_bos_token / add_eos_token, where present, win over the post-processor.
        (addBos, addEos) = (ConfigFlag(tokenizerPath, "add_bos_token") ?? addBos, ConfigFlag(tokenizerPath, "add_eos_token") ?? addEos);
        w.Add("tokenizer.ggml.add_bos_token", GgufValue.Of(addBos));
        w.Add("tokenizer.ggml.add_eos_token", GgufValue.Of(addEos));
        if (llama) w.Add("tokenizer.ggml.add_space_prefix", GgufValue.Of(AddsSpacePrefix(root)));
        return pre;
    }

    /// <summary>A boolean of the tokenizer_config.json beside <paramref name="tokenizerPath"/>, or null when absent.</summary>
    static bool? ConfigFlag(string tokenizerPath, string name)
    {
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerPath)) ?? ".", "tokenizer_config.json");
        if (!File.Exists(config)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
        return doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
    }

    static List<string> Merges(JsonElement bpe, string path)
    {
        var merges = new List<string>();
        if (!bpe.TryGetProperty("merges", out var ms)) return merges;
        foreach (var m in ms.EnumerateArray())
            merges.Add(m.ValueKind switch
            {
                JsonValueKind.String => m.GetString()!,
                JsonValueKind.Array when m.GetArrayLength() == 2 => $"{m[0].GetString()} {m[1].GetString()}",
                _ => throw new InvalidFormatException(path, "model.merges", $"holds {m.GetRawText()}; expected \"a b\" strings or [\"a\", \"b\"] pairs"),
            });
        return merges;
    }

    /// <summary>SentencePiece-style scores from the merge ranks (see the class remarks).</summary>
    static float[] Scores(string[] tokens, int[] types, List<string> merges)
    {
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < merges.Count; r++)
        {
            int space = merges[r].IndexOf(' ');
            if (space > 0) rank.TryAdd(string.Concat(merges[r].AsSpan(0, space), merges[r].AsSpan(space + 1)), r);
        }
        var scores = new float[tokens.Length];
        for (int id = 0; id < tokens.Length; id++)
            if (types[id] is Normal or UserDefined)
                scores[id] = rank.TryGetValue(tokens[id], out int r) ? -r : -(merges.Count + id);
        return scores;
    }

    /// <summary>Whether the tokenizer puts ▁ before the text: a Prepend normalizer or a Metaspace pre-tokenizer that prepends.</summary>
    static bool AddsSpacePrefix(JsonElement root)
    {
        static bool Prepends(JsonElement n, string listKey) =>
            n.ValueKind == JsonValueKind.Object && n.TryGetProperty("type", out var t) && (t.GetString() switch
            {
                "Prepend" => true,
                "Metaspace" => n.TryGetProperty("prepend_scheme", out var s) ? s.GetString() != "never"
                    : !n.TryGetProperty("add_prefix_space", out var a) || a.ValueKind == JsonValueKind.True,
                "Sequence" => n.TryGetProperty(listKey, out var list) && list.EnumerateArray().Any(x => Prepends(x, listKey)),
                _ => false,
            });
        return (root.TryGetProperty("normalizer", out var norm) && Prepends(norm, "normalizers"))
            || (root.TryGetProperty("pre_tokenizer", out var pre) && Prepends(pre, "pretokenizers"));
    }
}
