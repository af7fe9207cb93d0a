using QuantTune.Formats.Gguf;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>What the family GGUF tests check of an exported file against llama.cpp's converter: the architecture's keys and the tensor names.</summary>
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
}
