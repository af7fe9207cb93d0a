using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The keys and values [B, kvHeads, T, headDim] that layers of one forward pass hand to later layers which have none
/// of their own (Gemma 4's num_kv_shared_layers: transformers' shared_kv_states). A layer keeps them after its cache
/// update, so they cover every position so far; this object owns its references and disposes them with itself.
/// </summary>
public sealed class SharedKeyValues : IDisposable
{
    readonly Dictionary<int, (Tensor Keys, Tensor Values)> _byLayer = [];

    /// <summary>Keeps layer <paramref name="layer"/>'s keys and values for the later layers that attend over them.</summary>
    public void Keep(int layer, Tensor keys, Tensor values)
    {
        if (_byLayer.Remove(layer, out var old))
        {
            old.Keys.Dispose();
            old.Values.Dispose();
        }
        _byLayer[layer] = (keys.alias().DetachFromDisposeScope(), values.alias().DetachFromDisposeScope());
    }

    /// <summary>The keys and values layer <paramref name="layer"/> kept in this pass (views this object owns).</summary>
    public (Tensor Keys, Tensor Values) Of(int layer) =>
        _byLayer.TryGetValue(layer, out var kv) ? kv : throw new InvalidOperationException($"layer {layer} shared no keys and values in this forward pass");

    public void Dispose()
    {
        foreach (var (keys, values) in _byLayer.Values)
        {
            keys.Dispose();
            values.Dispose();
        }
        _byLayer.Clear();
    }
}
