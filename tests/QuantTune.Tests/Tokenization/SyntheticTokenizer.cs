using System.Text.Json.Nodes;

namespace QuantTune.Tests.Tokenization;

using QuantTune.Tokenization;

/// <summary>Writes small tokenizer.json files into a fresh temporary folder.</summary>
internal sealed class SyntheticTokenizer : IDisposable
{
    public SyntheticTokenizer()
    {
        Directory = Path.Combine(Path.GetTempPath(), "quanttune-tok-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string TokenizerPath => Path.Combine(Directory, "tokenizer.json");

    public string Write(JsonNode json) => WriteText(json.ToJsonString());

    public string WriteText(string text)
    {
        File.WriteAllText(TokenizerPath, text);
        return TokenizerPath;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>
    /// A Llama-2-style tokenizer: &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, the 256 byte tokens (ids 3..258), then
    /// ▁ t h e a c 😀 he ▁t ▁th ▁the at. Merges by rank: "h e", "▁ t", "▁t h", "▁t he", "a t".
    /// </summary>
    public static JsonObject SentencePieceStyle()
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = 3 + b;
        }

        string[] pieces = ["▁", "t", "h", "e", "a", "c", "😀", "he", "▁t", "▁th", "▁the", "at"];
        for (int i = 0; i < pieces.Length; i++)
        {
            vocab[pieces[i]] = 259 + i;
        }

        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                AddedToken(0, "<unk>"), AddedToken(1, "<s>"), AddedToken(2, "</s>")),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray("h e", "▁ t", "▁t h", "▁t he", "a t"),
            },
        };
    }

    private static JsonObject AddedToken(int id, string content) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = false,
        ["lstrip"] = false,
        ["rstrip"] = false,
        ["normalized"] = false,
        ["special"] = true,
    };
}
