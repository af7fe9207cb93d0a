using QuantTune.Models.Transformer;
using static TorchSharp.torch;

namespace QuantTune.Generation;

/// <summary>Incremental decoding of a causal LM with its <see cref="KvCache"/>; the LM head runs on the last position only.</summary>
public sealed class KvCacheDecoding(CausalLM model) : IDecodingSession
{
    readonly KvCache _cache = new(model.Config.NumLayers);

    public Tensor NextLogits(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var hidden = model.model.Forward(ids, _cache);
        return model.Head(hidden.select(1, -1)).MoveToOuterDisposeScope();
    }

    public void Dispose() => _cache.Dispose();
}
