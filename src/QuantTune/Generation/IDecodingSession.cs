using static TorchSharp.torch;

namespace QuantTune.Generation;

/// <summary>
/// One generation's incremental decoding: the session keeps the model's caches, so that each
/// call feeds only the ids that follow those already fed (the prompt first, then one token per
/// step). <see cref="TextGenerator"/> opens one per generation and disposes it.
/// </summary>
public interface IDecodingSession : IDisposable
{
    /// <summary>Logits [B, vocab] of the last of <paramref name="ids"/> [B, T], which follow every id fed before.</summary>
    Tensor NextLogits(Tensor ids);
}
