using QuantTune.Diagnostics;
using QuantTune.Formats.Gguf;
using QuantTune.Fuzz;
using QuantTune.Models.Loading;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary>
/// GGUF metadata of another type than the key's, head counts of 0, and a tokenizer that does not
/// parse: each an error naming the .gguf and the key (the micro llama's GGUF, one value changed).
/// </summary>
public sealed class GgufMetadataTypeTests() : TempFolderTest("quanttune-gguf-meta-")
{
    string Rewrite(string key, GgufValue value)
    {
        using var source = GgufFile.Open(MicroModel.Instance.Gguf);
        var w = new GgufWriter();
        foreach (var (k, v) in source.Metadata)
            if (k != "general.alignment") w.Add(k, k == key ? value : v);
        if (!source.Metadata.ContainsKey(key)) w.Add(key, value);
        foreach (var t in source.Tensors) w.AddTensor(t.Name, t.Type, t.Shape, source.ReadTensorBytes(t.Name));
        var path = Path.Combine(Dir, "model.gguf");
        w.Write(path);
        return path;
    }

    [Theory]
    [InlineData("llama.attention.head_count", "string")]
    [InlineData("llama.attention.head_count", "zero")]
    [InlineData("llama.block_count", "float")]
    [InlineData("tokenizer.ggml.add_bos_token", "string")]
    [InlineData("tokenizer.ggml.tokens", "float")]
    [InlineData("tokenizer.ggml.model", "float")]
    [InlineData("llama.rope.freq_base", "string")]
    public void AValueOfTheWrongTypeOrZeroHeadsNamesTheGgufAndTheKey(string key, string kind)
    {
        var value = kind switch
        {
            "string" => GgufValue.Of("eight"),
            "zero" => GgufValue.Of(0u),
            _ => GgufValue.Of(2.5f),
        };
        var path = Rewrite(key, value);
        var e = Assert.IsAssignableFrom<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(path).Dispose()));
        Assert.Equal(path, e.File);
        Assert.Equal(key, e.Field);
    }

    [Fact]
    public void ATokenizerErrorNamesTheGgufNotATemporaryTokenizerJson()
    {
        var path = Rewrite("tokenizer.ggml.merges", GgufValue.Of(["Ġthe"]));
        var e = Assert.IsAssignableFrom<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => PretrainedModel.Load(path).Dispose()));
        Assert.StartsWith(path + " (its tokenizer metadata", e.File);
        Assert.DoesNotContain("quanttune-gguf-tokenizer-", e.Message);
    }
}
