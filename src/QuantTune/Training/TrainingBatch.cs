using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>A batch: input ids [B, T] and, per position, the id to predict there (−100: no loss).</summary>
public sealed record TrainingBatch(Tensor InputIds, Tensor Labels) : IDisposable
{
    /// <summary>[B, T]: 1 for a token, 0 for padding (transformers' attention_mask); null when no row is padded.</summary>
    public Tensor? AttentionMask { get; init; }

    /// <summary>This batch on <paramref name="device"/>: itself when it is there already, else a copy there (this one is disposed).</summary>
    public TrainingBatch To(Device device)
    {
        if (InputIds.device_type == device.type && InputIds.device_index == device.index) return this;
        var moved = new TrainingBatch(InputIds.to(device), Labels.to(device)) { AttentionMask = AttentionMask?.to(device) };
        Dispose();
        return moved;
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask?.Dispose();
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
