using static TorchSharp.torch;

namespace QuantTune.Training;

/// <summary>A batch: input ids [B, T] and, per position, the id to predict there (−100: no loss).</summary>
public sealed record TrainingBatch(Tensor InputIds, Tensor Labels) : IDisposable
{
    /// <summary>[B, T]: 1 for a token, 0 for padding (transformers' attention_mask); null when no row is padded.</summary>
    public Tensor? AttentionMask { get; init; }

    /// <summary>
    /// int64 [B, T]: the next token at every position of the sequence, prompt included (−100 on padding), for a loss
    /// over whole sequences (ORPO's NLL of the chosen sequences); null when only <see cref="Labels"/> are needed.
    /// </summary>
    public Tensor? SequenceLabels { get; init; }

    /// <summary>bool [N]: for an unpaired preference batch (KTO), whether each of its first N rows is a desirable completion; null otherwise.</summary>
    public Tensor? Desirable { get; init; }

    /// <summary>This batch on <paramref name="device"/>: itself when it is there already, else a copy there (this one is disposed).</summary>
    public TrainingBatch To(Device device)
    {
        if (InputIds.device_type == device.type && InputIds.device_index == device.index) return this;
        var moved = new TrainingBatch(InputIds.to(device), Labels.to(device))
        {
            AttentionMask = AttentionMask?.to(device), SequenceLabels = SequenceLabels?.to(device), Desirable = Desirable?.to(device),
        };
        Dispose();
        return moved;
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask?.Dispose();
        SequenceLabels?.Dispose();
        Desirable?.Dispose();
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
