using static TorchSharp.torch;

namespace QuantTune.Training.Data;

/// <summary>
/// Examples padded to one length: <see cref="InputIds"/> and <see cref="Labels"/> are int64 [B, T];
/// padding has label <see cref="TokenizedExample.Ignore"/>. <see cref="Tokens"/> counts the labels that
/// are not ignored, the denominator of a per-token mean loss.
/// </summary>
/// <param name="Indices">Which examples (indices into the batcher's list) the rows are.</param>
public sealed record Batch(Tensor InputIds, Tensor Labels, int Tokens, int[] Indices) : IDisposable
{
    /// <summary>int64 [B, T]: 1 for a token, 0 for padding (transformers' attention_mask).</summary>
    public Tensor? AttentionMask { get; init; }

    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask?.Dispose();
    }
}
