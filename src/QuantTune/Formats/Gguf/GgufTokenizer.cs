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
        string model = file.RequiredString("tokenizer.ggml.model", "the file carries no tokenizer QuantTune can use");
        if (model is not ("gpt2" or "llama"))
            throw new InvalidFormatException(file.Path, "tokenizer.ggml.model", $"'{model}' is not supported yet; expected gpt2 (byte-level BPE) or llama (SentencePiece BPE)");
        bool llama = model == "llama";
        var tokens = file.OptionalArray<string>("tokenizer.ggml.tokens", GgufValueType.String)
            ?? throw new InvalidFormatException(file.Path, "tokenizer.ggml.tokens", "is missing; the file carries no tokenizer QuantTune can use");
        var types = file.OptionalArray<int>("tokenizer.ggml.token_type", GgufValueType.Int32) ?? new int[tokens.Length];
        if (types.Length != tokens.Length)
            throw new InvalidFormatException(file.Path, "tokenizer.ggml.token_type", $"has {types.Length} entries for {tokens.Length} tokens");
        var merges = file.OptionalArray<string>("tokenizer.ggml.merges", GgufValueType.String)
            ?? (llama ? DerivedMerges(file, tokens, types) : []);
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
            bool prefix = file.OptionalBool("tokenizer.ggml.add_space_prefix") ?? true;
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
        // Errors in the derived tokenizer.json name the GGUF file the user gave.
        return HfTokenizer.FromJson(json.ToJsonString(), $"{file.Path} (its tokenizer metadata, as tokenizer.json)");
    }

    /// <summary>
    /// SentencePiece BPE as merges: every split of a normal token into two normal tokens, the
    /// token with the higher score merging first (ties: the lower ids of the two halves first).
    /// </summary>
    static string[] DerivedMerges(GgufFile file, string[] tokens, int[] types)
    {
        var scores = file.OptionalArray<float>("tokenizer.ggml.scores", GgufValueType.Float32) ?? new float[tokens.Length];
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
        bool Flag(string key, bool fallback) => file.OptionalBool(key) ?? fallback;
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
        int count = file.OptionalArray<string>("tokenizer.ggml.tokens", GgufValueType.String)?.Length ?? 0;
        return (int?)file.OptionalInteger(key, 0, count - 1);
    }

}
