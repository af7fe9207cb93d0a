using QuantTune.Training.Alignment;
using QuantTune.Training.Data;

namespace QuantTune.Tests.Training.Alignment;

/// <summary>The concatenated batch: chosen rows then rejected rows, completion labels only, KTO's mismatched pairs cycled by one.</summary>
public sealed class PreferenceBatchSourceTests
{
    const int Pad = 3;

    static long[][] Rows(TorchSharp.torch.Tensor t) =>
        [.. Enumerable.Range(0, (int)t.shape[0]).Select(r => t[r].data<long>().ToArray())];

    [Fact]
    public void PairsGoChosenFirstThenRejectedWithLabelsOnTheCompletionOnly()
    {
        var pairs = new[] { new PreferencePair([1, 10, 11], [20, 21], [30], 1), new PreferencePair([1, 12], [22], [31, 32, 33], 2) };
        using var batch = PreferenceBatchSource.Paired(pairs, 2, Pad, seed: 0, shuffle: false).Epoch(0).Single();
        // Inputs are each sequence but its last token, right-padded to the longest (prompt 2 + completion 3 − 1 = 4).
        Assert.Equal([[1, 10, 11, 20], [1, 12, Pad, Pad], [1, 10, 11, Pad], [1, 12, 31, 32]], Rows(batch.InputIds));
        Assert.Equal([[-100, -100, 20, 21], [-100, 22, -100, -100], [-100, -100, 30, -100], [-100, 31, 32, 33]], Rows(batch.Labels));
        Assert.Equal([[10, 11, 20, 21], [12, 22, -100, -100], [10, 11, 30, -100], [12, 31, 32, 33]], Rows(batch.SequenceLabels!));
        Assert.Equal([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], Rows(batch.AttentionMask!));
        Assert.Null(batch.Desirable);
    }

    [Fact]
    public void UnpairedBatchesAddEachPromptWithThePreviousCompletionForTheKlEstimate()
    {
        var examples = new[] { new UnpairedCompletion([1, 10], [20], true, 1), new UnpairedCompletion([1, 11], [21, 22], false, 2), new UnpairedCompletion([1, 12], [23], true, 3) };
        using var batch = PreferenceBatchSource.Unpaired(examples, 3, Pad, seed: 0, new PreferenceOptions(), shuffle: false).Epoch(0).Single();
        // Rows 3-5: prompt i with completion i−1 (prompt 0 with the last completion), as TRL cycles them.
        Assert.Equal([[1, 10, Pad], [1, 11, 21], [1, 12, Pad], [1, 10, Pad], [1, 11, Pad], [1, 12, 21]], Rows(batch.InputIds));
        Assert.Equal([[-100, 20, -100], [-100, 21, 22], [-100, 23, -100], [-100, 23, -100], [-100, 20, -100], [-100, 21, 22]], Rows(batch.Labels));
        Assert.Equal([true, false, true], batch.Desirable!.data<bool>().ToArray());
    }

    [Fact]
    public void TheOrderIsTheBatchersForTheSameSeed()
    {
        var pairs = Enumerable.Range(0, 10).Select(i => new PreferencePair([1, 100 + i], [20], [30], i)).ToArray();
        var source = PreferenceBatchSource.Paired(pairs, 4, Pad, seed: 5);
        var order = new Batcher([.. Enumerable.Repeat(new TokenizedExample([0], [0]), 10)], 4, Pad, 5).Order(1);
        var seen = source.Epoch(1).SelectMany(b => { using (b) return Rows(b.InputIds).Take((int)b.InputIds.shape[0] / 2).Select(r => r[1] - 100).ToList(); });
        Assert.Equal(order.Select(i => (long)i), seen);
        Assert.Equal(3, source.BatchesPerEpoch);
    }
}
