using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace QuantTune.Tests.Compatibility;

/// <summary>
/// One folder of tests/fixtures/compat: a published Hugging Face repository's small files (config.json and, where
/// found, tokenizer_config.json, chat_template.jinja, generation_config.json, tokenizer.json.gz), or a
/// <c>tokenizer.ref</c> naming the tokenizer folder of tests/fixtures it shares, with that tokenizer.json's SHA-256.
/// </summary>
public sealed class CompatibilityRepository(string name)
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "compat");

    /// <summary>Every repository folder (one with a config.json), in order.</summary>
    public static IReadOnlyList<string> Names =>
        [.. Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "config.json"))).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    /// <summary>expected.json: repository → "works" or "refused: &lt;fragment of the error&gt;".</summary>
    public static IReadOnlyDictionary<string, string> Expected =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "expected.json")))!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());

    public string Name { get; } = name;
    public string Folder { get; } = Path.Combine(Root, name);
    public string ConfigPath => Path.Combine(Folder, "config.json");
    public JsonObject Config => JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject();

    /// <summary>The chat_render.json the Python jinja2 reference wrote (tools/compat-fixtures/render_templates.py), or null.</summary>
    public JsonObject? ChatRender => File.Exists(Path.Combine(Folder, "chat_render.json"))
        ? JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "chat_render.json")))!.AsObject() : null;

    /// <summary>The tokenizer folder under tests/fixtures a tokenizer.ref names (null: none), after checking its SHA-256.</summary>
    public string? SharedTokenizerFolder()
    {
        string refPath = Path.Combine(Folder, "tokenizer.ref");
        if (!File.Exists(refPath)) return null;
        var reference = JsonNode.Parse(File.ReadAllText(refPath))!.AsObject();
        string folder = Path.Combine(AppContext.BaseDirectory, "fixtures", reference["tokenizer"]!.GetValue<string>());
        string actual = Convert.ToHexStringLower(SHA256.HashData(Gunzip(Path.Combine(folder, "tokenizer.json.gz"))));
        Assert.True(actual == reference["sha256"]!.GetValue<string>(), $"{refPath}: the shared tokenizer.json's SHA-256 is {actual}");
        return folder;
    }

    /// <summary>
    /// Writes into <paramref name="dir"/> what a tiny model of this repository needs besides weights: the cut
    /// config.json (<see cref="TinyShape"/>), the real tokenizer.json and tokenizer_config.json (the folder's own, else
    /// the shared ones), generation_config.json and chat_template.jinja as published.
    /// </summary>
    public void WriteTinySource(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), TinyShape.Cut(Config).ToJsonString(new() { WriteIndented = true }));
        string? shared = SharedTokenizerFolder();
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            string own = Path.Combine(Folder, file), ownGz = own + ".gz";
            if (File.Exists(own)) File.Copy(own, Path.Combine(dir, file));
            else if (File.Exists(ownGz)) File.WriteAllBytes(Path.Combine(dir, file), Gunzip(ownGz));
            else if (shared is not null) File.WriteAllBytes(Path.Combine(dir, file), Gunzip(Path.Combine(shared, file + ".gz")));
        }
        foreach (var file in new[] { "generation_config.json", "chat_template.jinja" })
            if (File.Exists(Path.Combine(Folder, file))) File.Copy(Path.Combine(Folder, file), Path.Combine(dir, file));
    }

    static byte[] Gunzip(string path)
    {
        using var input = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    public override string ToString() => Name;
}
