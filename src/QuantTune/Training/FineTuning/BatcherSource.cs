using QuantTune.Training.Data;

namespace QuantTune.Training.FineTuning;

/// <summary>The trainer's view of a <see cref="Batcher"/>: batches per epoch in a seeded order.</summary>
internal sealed class BatcherSource(Batcher batcher) : IBatchSource
{
    public int BatchesPerEpoch => batcher.BatchesPerEpoch;

    public IEnumerable<TrainingBatch> Epoch(int epoch)
    {
        foreach (var b in batcher.Batches(epoch))
            yield return new TrainingBatch(b.InputIds, b.Labels) { AttentionMask = b.AttentionMask };
    }
}
