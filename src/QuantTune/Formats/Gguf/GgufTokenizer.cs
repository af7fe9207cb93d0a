using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Tokenization;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The tokenizer stored in a GGUF file's metadata, as a QuantTune tokenizer, written out as the
/// equivalent tokenizer.json and loaded from it:
/// <list type="bullet">
/// <item><c>gpt2</c>: byte-level BPE from the vocabulary, merges and special tokens.</item>
/// <item><c>llama</c>: SentencePiece-style BPE with byte fallback, tokenizing as llama.cpp does: ▁ for
///   spaces, a ▁ prefix before the text and after every special token when
///   <c>tokenizer.ggml.add_space_prefix</c> (default true), merges from <c>tokenizer.ggml.merges</c>
///   when present, else every split of a token into two tokens, ranked by the token's score as
///   SentencePiece's BPE ranks them.</item>
/// </list>
/// </summary>
public static class GgufTokenizer
{
    public static HfTokenizer Load(GgufFile file)
    {
        string model = Get(file, "tokenizer.ggml.model").AsString();
        if (model is not ("gpt2" or "llama"))
            throw new InvalidFormatException(file.Path, "tokenizer.ggml.model", $"'{model}' is not supported yet; expected gpt2 (byte-level BPE) or llama (SentencePiece BPE)");
        bool llama = model == "llama";
        var tokens = Get(file, "tokenizer.ggml.tokens").AsArray<string>();
        var types = file.Metadata.TryGetValue("tokenizer.ggml.token_type", out var t) ? t.AsArray<int>() : new int[tokens.Length];
        if (types.Length != tokens.Length)
            throw new InvalidFormatException(file.Path, "tokenizer.ggml.token_type", $"has {types.Length} entries for {tokens.Length} tokens");
        var merges = file.Metadata.TryGetValue("tokenizer.ggml.merges", out var m) ? m.AsArray<string>()
            : llama ? DerivedMerges(file, tokens, types) : [];
        var vocab = new JsonObject();
        var added = new JsonArray();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (types[i] == GgufVocabExport.Unused) continue; // placeholder ids
            vocab[tokens[i]] = i;
            bool special = types[i] == GgufVocabExport.Control || (llama && types[i] == GgufVocabExport.Unknown);
            if (special || types[i] == GgufVocabExport.UserDefined)
                added.Add(new JsonObject { ["id"] = i, ["content"] = tokens[i], ["special"] = special, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false });
        }
        var bpe = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(merges.Select(x => (JsonNode?)x).ToArray()) };
        var json = new JsonObject { ["version"] = "1.0", ["added_tokens"] = added };
        if (llama)
        {
            bool prefix = !file.Metadata.TryGetValue("tokenizer.ggml.add_space_prefix", out var p) || (bool)p.Value;
            int? unk = OptionalId(file, "tokenizer.ggml.unknown_token_id") ?? (Array.IndexOf(types, GgufVocabExport.Unknown) is int u and >= 0 ? u : null);
            bpe["unk_token"] = unk is int k ? tokens[k] : null;
            bpe["fuse_unk"] = true;
            bpe["byte_fallback"] = true;
            var spaces = new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" };
            json["normalizer"] = prefix ? new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" }, spaces) } : spaces;
            json["pre_tokenizer"] = null;
            json["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = prefix ? 1 : 0, ["stop"] = 0 }),
            };
        }
        else
        {
            json["normalizer"] = null;
            json["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
            json["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true };
        }
        json["post_processor"] = PostProcessor(file, tokens);
        json["model"] = bpe;
        var dir = Directory.CreateTempSubdirectory("quanttune-gguf-tokenizer-");
        try
        {
            var path = Path.Combine(dir.FullName, "tokenizer.json");
            File.WriteAllText(path, json.ToJsonString());
            return HfTokenizer.FromFile(path);
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>
    /// SentencePiece BPE as merges: every split of a normal token into two normal tokens, the
    /// token with the higher score merging first (ties: the lower ids of the two halves first).
    /// </summary>
    static string[] DerivedMerges(GgufFile file, string[] tokens, int[] types)
    {
        var scores = file.Metadata.TryGetValue("tokenizer.ggml.scores", out var s) ? s.AsArray<float>() : new float[tokens.Length];
        if (scores.Length != tokens.Length)
            throw new InvalidFormatException(file.Path, "tokenizer.ggml.scores", $"has {scores.Length} entries for {tokens.Length} tokens");
        var normal = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
            if (types[i] is GgufVocabExport.Normal or 0) normal.TryAdd(tokens[i], i);
        var merges = new List<(float Score, int Left, int Right, string Merge)>();
        foreach (var (token, id) in normal)
            for (int k = 1; k < token.Length; k++)
                if (normal.TryGetValue(token[..k], out int l) && normal.TryGetValue(token[k..], out int r))
                    merges.Add((scores[id], l, r, $"{token[..k]} {token[k..]}"));
        return merges.OrderByDescending(x => x.Score).ThenBy(x => x.Left).ThenBy(x => x.Right).Select(x => x.Merge).ToArray();
    }

    static JsonNode? PostProcessor(GgufFile file, string[] tokens)
    {
        bool Flag(string key, bool fallback) => file.Metadata.TryGetValue(key, out var v) ? (bool)v.Value : fallback;
        int? bos = OptionalId(file, "tokenizer.ggml.bos_token_id"), eos = OptionalId(file, "tokenizer.ggml.eos_token_id");
        bool addBos = bos is not null && Flag("tokenizer.ggml.add_bos_token", true);
        bool addEos = eos is not null && Flag("tokenizer.ggml.add_eos_token", false);
        if (!addBos && !addEos) return null;
        JsonObject Special(int id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = tokens[id], ["type_id"] = 0 } };
        JsonObject Sequence(string id, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        var single = new JsonArray();
        var specials = new JsonObject();
        if (addBos) single.Add(Special(bos!.Value));
        single.Add(Sequence("A", 0));
        if (addEos) single.Add(Special(eos!.Value));
        foreach (var id in new[] { addBos ? bos : null, addEos ? eos : null }.OfType<int>().Distinct())
            specials[tokens[id]] = new JsonObject { ["id"] = tokens[id], ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(tokens[id]) };
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = single,
            ["pair"] = new JsonArray(Sequence("A", 0), Sequence("B", 1)),
            ["special_tokens"] = specials,
        };
    }

    static int? OptionalId(GgufFile file, string key)
    {
        if (!file.Metadata.TryGetValue(key, out var v)) return null;
        long id = v.AsInt64();
        int count = file.Metadata["tokenizer.ggml.tokens"].AsArray<string>().Length;
        return id >= 0 && id < count ? (int)id : throw new InvalidFormatException(file.Path, key, $"{id} is not a token id; the vocabulary has {count} tokens");
    }

    static GgufValue Get(GgufFile file, string key) =>
        file.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidFormatException(file.Path, key, "is missing; the file carries no tokenizer QuantTune can use");
}
