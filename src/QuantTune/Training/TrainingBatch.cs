using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>A batch: input ids [B, T] and, per position, the id to predict there (−100: no loss).</summary>
public sealed record TrainingBatch(Tensor InputIds, Tensor Labels) : IDisposable
{
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Batches in a fixed order per epoch (deterministic given the run's seed and the epoch), so a
/// resumed run sees exactly the batches the interrupted one would have.
/// </summary>
public interface IBatchSource
{
    int BatchesPerEpoch { get; }
    IEnumerable<TrainingBatch> Epoch(int epoch);
}
