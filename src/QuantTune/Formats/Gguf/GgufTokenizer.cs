using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Tokenization;

namespace QuantTune.Formats.Gguf;

/// <summary>
/// The tokenizer stored in a GGUF file's metadata, as a QuantTune tokenizer: for
/// <c>tokenizer.ggml.model = "gpt2"</c> (byte-level BPE) the vocabulary, merges and special tokens
/// are written out as the equivalent tokenizer.json and loaded from it.
/// </summary>
public static class GgufTokenizer
{
    public static HfTokenizer Load(GgufFile file)
    {
        string model = Get(file, "tokenizer.ggml.model").AsString();
        if (model != "gpt2")
            throw new InvalidFormatException(file.Path, "tokenizer.ggml.model", $"'{model}' is not supported yet; expected gpt2 (byte-level BPE)");
        var tokens = Get(file, "tokenizer.ggml.tokens").AsArray<string>();
        var types = file.Metadata.TryGetValue("tokenizer.ggml.token_type", out var t) ? t.AsArray<int>() : new int[tokens.Length];
        var merges = file.Metadata.TryGetValue("tokenizer.ggml.merges", out var m) ? m.AsArray<string>() : [];
        var vocab = new JsonObject();
        var added = new JsonArray();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (types.Length > i && types[i] == 5) continue; // unused placeholder ids
            vocab[tokens[i]] = i;
            if (types.Length > i && types[i] is 3 or 4)
                added.Add(new JsonObject { ["id"] = i, ["content"] = tokens[i], ["special"] = types[i] == 3, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false });
        }
        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = PostProcessor(file, tokens),
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(merges.Select(x => (JsonNode?)x).ToArray()) },
        };
        var dir = Directory.CreateTempSubdirectory("quanttune-gguf-tokenizer-");
        try
        {
            var path = Path.Combine(dir.FullName, "tokenizer.json");
            File.WriteAllText(path, json.ToJsonString());
            return HfTokenizer.FromFile(path);
        }
        finally { dir.Delete(recursive: true); }
    }

    static JsonNode? PostProcessor(GgufFile file, string[] tokens)
    {
        bool addBos = file.Metadata.TryGetValue("tokenizer.ggml.add_bos_token", out var a) ? (bool)a.Value : file.Metadata.ContainsKey("tokenizer.ggml.bos_token_id");
        if (!addBos || !file.Metadata.TryGetValue("tokenizer.ggml.bos_token_id", out var bos)) return null;
        var name = tokens[(int)bos.AsInt64()];
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = name, ["type_id"] = 0 } }, new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
            ["pair"] = new JsonArray(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }, new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
            ["special_tokens"] = new JsonObject { [name] = new JsonObject { ["id"] = name, ["ids"] = new JsonArray((int)bos.AsInt64()), ["tokens"] = new JsonArray(name) } },
        };
    }

    static GgufValue Get(GgufFile file, string key) =>
        file.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidFormatException(file.Path, key, "is missing; the file carries no tokenizer QuantTune can use");
}
