using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats;

public sealed class ShardedCheckpointTests() : TempFolderTest("qt-shard-")
{
    void CopyTinyLlama()
    {
        foreach (var f in Directory.GetFiles(TestData.TinyLlamaDir))
            File.Copy(f, Path.Combine(Dir, Path.GetFileName(f)));
    }

    [Fact]
    public void ShardedFixtureOpensWithEveryWeightOfTheIndex()
    {
        using var ckpt = SafetensorsCheckpoint.Open(TestData.TinyLlamaDir);
        Assert.Equal(3, ckpt.Files.Count);
        Assert.Equal(39, ckpt.Names.Count());
        Assert.Equal([4096L, 256L], ckpt.Info("model.embed_tokens.weight").Shape);
        Assert.Equal(SafetensorsDType.BF16, ckpt.Info("lm_head.weight").DType);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        CopyTinyLlama();
        File.Delete(Path.Combine(Dir, "model-00002-of-00003.safetensors"));
        var e = Assert.IsType<InvalidFormatException>(Assert.ThrowsAny<QuantTuneException>(() => SafetensorsCheckpoint.Open(Dir)));
        Assert.Contains("model-00002-of-00003.safetensors", e.Message);
        Assert.Contains(SafetensorsCheckpoint.IndexFile, e.Message);
        Assert.Equal("weight_map", e.Field);
    }

    [Fact]
    public void TruncatedShardIsNamed()
    {
        CopyTinyLlama();
        var shard = Path.Combine(Dir, "model-00003-of-00003.safetensors");
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..(bytes.Length / 2)]);
        var e = Assert.ThrowsAny<QuantTuneException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.Contains("model-00003-of-00003.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void IndexEntryWithoutTheTensorInItsShardIsRejected()
    {
        CopyTinyLlama();
        var index = Path.Combine(Dir, SafetensorsCheckpoint.IndexFile);
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"lm_head.weight\": \"model-00003-of-00003.safetensors\"", "\"lm_head.weight\": \"model-00001-of-00003.safetensors\""));
        var e = Assert.ThrowsAny<QuantTuneException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.Contains("lm_head.weight", e.Message);
    }

    [Fact]
    public void FolderWithoutWeightsIsRejected()
    {
        var e = Assert.ThrowsAny<QuantTuneException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void ShardsHoldTheSameValuesAsTheirConcatenation()
    {
        // Re-save the sharded fixture as one file and compare every tensor.
        using var sharded = SafetensorsCheckpoint.Open(TestData.TinyLlamaDir);
        using var scope = NewDisposeScope();
        var all = sharded.Names.ToDictionary(n => n, n => sharded.ToTensor(n));
        SafetensorsWriter.Write(Path.Combine(Dir, SafetensorsCheckpoint.SingleFile), all);
        using var single = SafetensorsCheckpoint.Open(Dir);
        foreach (var (name, t) in all)
            Assert.True(t.eq(single.ToTensor(name)).all().item<bool>(), name);
    }
}
