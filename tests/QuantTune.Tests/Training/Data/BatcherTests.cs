using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Data;

public sealed class BatcherTests
{
    /// <summary>Example k has k % 5 + 1 tokens, all equal to 100 + k; the first input's label is ignored.</summary>
    private static List<TokenizedExample> Examples(int count) =>
    [
        .. Enumerable.Range(0, count).Select(k =>
        {
            int n = k % 5 + 1;
            int[] labels = [.. Enumerable.Repeat(200 + k, n)];
            labels[0] = TokenizedExample.Ignore;
            return new TokenizedExample([.. Enumerable.Repeat(100 + k, n)], labels);
        }),
    ];

    private static List<int[]> Rows(Batcher batcher, int epoch, int skip = 0)
    {
        var rows = new List<int[]>();
        foreach (Batch batch in batcher.Batches(epoch, skip))
        {
            using (batch)
            {
                rows.Add(batch.Indices);
            }
        }

        return rows;
    }

    [Fact]
    public void SameSeedAndEpochGiveTheSameOrderAndOtherEpochsAnother()
    {
        var examples = Examples(40);
        var a = new Batcher(examples, 4, padId: 3, seed: 17);
        var b = new Batcher(examples, 4, padId: 3, seed: 17);
        Assert.Equal(Rows(a, 2), Rows(b, 2));
        Assert.NotEqual(a.Order(2), a.Order(3));
        Assert.NotEqual(a.Order(2), new Batcher(examples, 4, 3, seed: 18).Order(2));
        Assert.Equal(Enumerable.Range(0, 40), a.Order(5).Order());
        Assert.Equal(Enumerable.Range(0, 40), new Batcher(examples, 4, 3, 17, shuffle: false).Order(5));
    }

    [Fact]
    public void SkippingKBatchesEqualsDroppingTheFirstK()
    {
        var batcher = new Batcher(Examples(23), 4, padId: 3, seed: 5);
        Assert.Equal(6, batcher.BatchesPerEpoch);
        List<int[]> all = Rows(batcher, 1);
        Assert.Equal(6, all.Count);
        Assert.Equal(3, all[^1].Length);
        Assert.Equal(all.Skip(4), Rows(batcher, 1, skip: 4));
        Assert.Empty(Rows(batcher, 1, skip: 6));
        Assert.Equal(5, new Batcher(Examples(23), 4, 3, 5, dropLast: true).Batches(1).Count());
    }

    [Fact]
    public void RowsArePaddedOnTheRightWithIgnoredLabels()
    {
        var examples = Examples(10);
        var batcher = new Batcher(examples, 3, padId: 3, seed: 9);
        foreach (Batch batch in batcher.Batches(0))
        {
            using (batch)
            {
                int length = batch.Indices.Max(i => examples[i].Length);
                Assert.Equal([batch.Indices.Length, length], batch.InputIds.shape);
                Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.InputIds.dtype);
                Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.Labels.dtype);
                long[] inputs = batch.InputIds.data<long>().ToArray();
                long[] labels = batch.Labels.data<long>().ToArray();
                int tokens = 0;
                for (int row = 0; row < batch.Indices.Length; row++)
                {
                    TokenizedExample example = examples[batch.Indices[row]];
                    for (int t = 0; t < length; t++)
                    {
                        long expectedInput = t < example.Length ? example.InputIds[t] : 3;
                        long expectedLabel = t < example.Length ? example.Labels[t] : TokenizedExample.Ignore;
                        Assert.Equal(expectedInput, inputs[row * length + t]);
                        Assert.Equal(expectedLabel, labels[row * length + t]);
                        tokens += expectedLabel == TokenizedExample.Ignore ? 0 : 1;
                    }
                }

                Assert.Equal(tokens, batch.Tokens);
            }
        }
    }

    [Fact]
    public void PadIdIsThePadTokenElseEos()
    {
        Assert.Equal(3, Batcher.PadIdFor(DataTestFiles.Tokenizer));
    }
}
