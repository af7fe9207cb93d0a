using QuantTune.Generation;
using static TorchSharp.torch;

namespace QuantTune.SideTuning;

/// <summary>
/// Incremental decoding of a QST model: the backbone runs with its KV cache and hands over the
/// hidden states of the new positions only; the side layers attend through their own cache.
/// The logits equal those of <see cref="QstModel.Forward(TorchSharp.torch.Tensor)"/> over the whole sequence.
/// </summary>
public sealed class QstDecoding(QstModel model) : IDecodingSession
{
    readonly QstCache _cache = model.NewCache();

    public Tensor NextLogits(Tensor ids) => model.LastLogits(ids, _cache);

    public void Dispose() => _cache.Dispose();
}
