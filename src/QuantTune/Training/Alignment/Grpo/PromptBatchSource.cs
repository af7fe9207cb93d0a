using QuantTune.Diagnostics;
using QuantTune.Training.Data;
using static TorchSharp.torch;

namespace QuantTune.Training.Alignment.Grpo;

/// <summary>
/// Batches of prompts in a seeded order per epoch (a <see cref="Batcher"/>'s order with the same seed, so a resumed
/// run sees the prompts the interrupted one would have): each batch's <see cref="TrainingBatch.InputIds"/> [B, 1]
/// holds the indices of its prompts in the prompt list, which <see cref="GrpoStep"/> samples completions for.
/// </summary>
public sealed class PromptBatchSource : IBatchSource
{
    readonly Batcher _order;

    public PromptBatchSource(int prompts, int batchSize, int seed)
    {
        if (prompts == 0) throw new QuantTuneException("no prompt to batch");
        _order = new Batcher([.. Enumerable.Repeat(new TokenizedExample([0], [0]), prompts)], batchSize, 0, seed);
    }

    public int BatchesPerEpoch => _order.BatchesPerEpoch;

    public IEnumerable<TrainingBatch> Epoch(int epoch)
    {
        int[] order = _order.Order(epoch);
        int size = _order.BatchSize;
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            long[] indices = [.. order[(b * size)..Math.Min(order.Length, (b + 1) * size)].Select(i => (long)i)];
            yield return new TrainingBatch(tensor(indices, [indices.Length, 1]), tensor(indices, [indices.Length, 1]));
        }
    }

    /// <summary>The prompt indices a batch of this source holds.</summary>
    public static int[] Indices(TrainingBatch batch)
    {
        using var cpu = batch.InputIds.cpu();
        return [.. cpu.data<long>().ToArray().Select(i => (int)i)];
    }
}
