using System.Text.Json.Nodes;
using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Architectures;
using QuantTune.Models.Config;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// What the family GGUF tests check of an exported file against llama.cpp's converter: the architecture's keys and the
/// tensor names (<see cref="ExportMatching"/> checks both), the config read back (<see cref="ReadBack"/>), and a config
/// llama.cpp cannot hold refused by its field (<see cref="Patched"/>, <see cref="AssertRefusedByField"/>).
/// </summary>
internal static class ConverterLayout
{
    /// <summary>The values of <paramref name="model"/>'s parameter <paramref name="name"/> (fp32), flattened.</summary>
    public static float[] Values(PretrainedModel model, string name)
    {
        using var p = model.Model.named_parameters().First(p => p.name == name).parameter.detach();
        return p.data<float>().ToArray();
    }

    /// <summary>Exports <paramref name="model"/> as F32 into <paramref name="folder"/> and opens the file.</summary>
    public static GgufFile Export(PretrainedModel model, string folder, string name)
    {
        var path = Path.Combine(folder, name + ".gguf");
        GgufExport.Write(model, path, LlamaFileType.F32);
        return GgufFile.Open(path);
    }

    /// <summary>general.architecture is <paramref name="architecture"/>, and its keys are exactly <paramref name="keys"/>.</summary>
    public static void AssertKeys(GgufFile f, string architecture, IEnumerable<string> keys)
    {
        Assert.Equal(architecture, f.Metadata["general.architecture"].AsString());
        Assert.Equal(keys.Order(StringComparer.Ordinal), f.Metadata.Keys.Where(k => k.StartsWith(architecture + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    /// <summary>The tensors are exactly <paramref name="global"/> plus blk.N.&lt;name&gt; of <paramref name="perLayer"/> for each of <paramref name="layers"/> layers.</summary>
    public static void AssertTensors(GgufFile f, IEnumerable<string> global, int layers, IReadOnlyList<string> perLayer)
    {
        var expected = global.Concat(Enumerable.Range(0, layers).SelectMany(l => perLayer.Select(p => $"blk.{l}.{p}")));
        Assert.Equal(expected.Order(StringComparer.Ordinal), f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    /// <summary>Each name with ".weight" after it.</summary>
    public static string[] Weights(params string[] names) => names.Select(n => n + ".weight").ToArray();

    /// <summary>
    /// Exports <paramref name="model"/> as F32 into <paramref name="folder"/>, checks that its architecture is
    /// <paramref name="architecture"/> with exactly <paramref name="keys"/> and that its tensors are exactly
    /// <paramref name="global"/> plus <paramref name="perLayer"/> for each of <paramref name="layers"/> layers, and opens it.
    /// </summary>
    public static GgufFile ExportMatching(PretrainedModel model, string folder, string architecture, IEnumerable<string> keys,
        IEnumerable<string> global, int layers, IReadOnlyList<string> perLayer)
    {
        var f = Export(model, folder, architecture);
        try
        {
            AssertKeys(f, architecture, keys);
            AssertTensors(f, global, layers, perLayer);
            return f;
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    /// <summary>The config QuantTune reads back from <paramref name="f"/> by its general.architecture.</summary>
    public static ModelConfig ReadBack(GgufFile f) => GgufArchitectures.Find(f.Metadata["general.architecture"].AsString())!.ReadConfig(f);

    /// <summary>
    /// The fixture <paramref name="fixture"/>'s folder as it is where <paramref name="patch"/> is null; else the folder "model" in
    /// <paramref name="folder"/> whose config.json is the fixture's with <paramref name="patch"/>'s fields set (with the fixture's
    /// other files where <paramref name="withFiles"/>, else config.json alone). The name "model" keeps the fixture's name,
    /// which often holds the architecture's, out of the paths an error message quotes.
    /// </summary>
    public static string Patched(string fixture, string? patch, string folder, bool withFiles = false)
    {
        string source = TestData.Fixture(fixture);
        if (patch is null) return source;
        string copy = Path.Combine(folder, "model");
        Directory.CreateDirectory(copy);
        if (withFiles)
            foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject()) config[key] = value?.DeepClone();
        File.WriteAllText(Path.Combine(copy, "config.json"), config.ToJsonString());
        return copy;
    }

    /// <summary>The GGUF architecture of the model in <paramref name="folder"/> refuses its config.json by <paramref name="field"/>, naming the file and <paramref name="mention"/>.</summary>
    public static void AssertRefusedByField(string folder, string field, string mention)
    {
        var c = ModelConfig.Load(folder);
        var e = Assert.Throws<InvalidFormatException>(() => GgufArchitectures.For(c)!.CheckRepresentable(c, folder));
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains(Path.Combine(folder, "config.json"), e.Message);
        Assert.Contains(mention, e.Message);
    }
}
