using QuantTune.Formats.Gguf;
using QuantTune.Quantization.Layers;
using static TorchSharp.torch;

namespace QuantTune.Tests.Formats.Gguf;

/// <summary><see cref="GgufEmbedding"/>: the gathered rows are the dequantized table's rows, exactly, in the model's dtype.</summary>
public sealed class GgufEmbeddingTests
{
    [Theory]
    [InlineData(GgmlType.Q6_K, 256)]
    [InlineData(GgmlType.Q8_0, 64)]
    public void RowsAreTheDequantizedTablesRows(GgmlType type, int dim)
    {
        const int vocab = 50;
        var rng = new Random(dim);
        var table = Enumerable.Range(0, vocab * dim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var blocks = GgmlCodec.Quantize(type, table);
        var dense = GgmlCodec.Dequantize(type, blocks, vocab * dim);
        using var embedding = new GgufEmbedding(type, blocks, vocab, dim, ScalarType.Float32);
        long[] ids = [3, 49, 0, 3, 17, 8];
        using var rows = embedding.forward(tensor(ids, [2, 3]));
        Assert.Equal(new long[] { 2, 3, dim }, rows.shape);
        var got = rows.data<float>().ToArray();
        for (int i = 0; i < ids.Length; i++)
            Assert.Equal(dense.AsSpan((int)ids[i] * dim, dim).ToArray(), got.AsSpan(i * dim, dim).ToArray());

        using var bf16 = new GgufEmbedding(type, blocks, vocab, dim, ScalarType.BFloat16);
        using var half = bf16.forward(tensor(new long[] { 1 }));
        Assert.Equal(ScalarType.BFloat16, half.dtype);
    }

    [Fact]
    public void AnIdOutsideTheTableIsRefusedByProperty()
    {
        using var embedding = new GgufEmbedding(GgmlType.Q8_0, new byte[4 * 34], 4, 32, ScalarType.Float32);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.forward(tensor(new long[] { 4 })));
        Assert.Contains("Vocab 4", e.Message);
        var size = Assert.Throws<ArgumentException>(() => new GgufEmbedding(GgmlType.Q8_0, new byte[3 * 34], 4, 32, ScalarType.Float32));
        Assert.Contains("Vocab 4", size.Message);
    }
}
