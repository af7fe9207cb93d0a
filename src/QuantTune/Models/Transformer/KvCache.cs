using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// Keys and values of the positions already seen, per layer ([B, kvHeads, T, headDim]), so that
/// generation feeds only the new token through the model. Each layer's keys and values live in a
/// buffer with room for <see cref="Block"/> positions more than needed: a step writes its
/// position into it and hands out a view, instead of copying the whole cache (which a
/// concatenation per step would, and on more than one thread once the cache is large).
/// A linear-attention layer keeps a fixed-size state instead (<see cref="StateOf"/>).
/// </summary>
public sealed class KvCache : IDisposable
{
    /// <summary>Positions by which a full buffer grows.</summary>
    public const long Block = 256;

    readonly Tensor?[] _keys;
    readonly Tensor?[] _values;
    readonly long[] _lengths;
    readonly Tensor?[] _convHistory;
    readonly Tensor?[] _recurrentState;

    public KvCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
        _lengths = new long[layers];
        _convHistory = new Tensor?[layers];
        _recurrentState = new Tensor?[layers];
    }

    /// <summary>Positions cached so far, read from the last layer: layer 0 is updated first within a forward pass, so this is the length before that pass until it completes.</summary>
    public long Length => _lengths[^1];

    /// <summary>Positions the buffers of <paramref name="layer"/> hold room for.</summary>
    public long Capacity(int layer) => _keys[layer]?.shape[2] ?? 0;

    /// <summary>Appends this step's keys and values for <paramref name="layer"/> and returns all of them (views of the cache).</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        long past = _lengths[layer], length = past + keys.shape[2];
        if (length > Capacity(layer))
        {
            long capacity = (length + Block - 1) / Block * Block;
            _keys[layer] = Grow(_keys[layer], keys, past, capacity);
            _values[layer] = Grow(_values[layer], values, past, capacity);
        }
        _keys[layer]!.narrow(2, past, keys.shape[2]).copy_(keys);
        _values[layer]!.narrow(2, past, values.shape[2]).copy_(values);
        _lengths[layer] = length;
        return (_keys[layer]!.narrow(2, 0, length), _values[layer]!.narrow(2, 0, length));
    }

    /// <summary>Counts <paramref name="positions"/> more positions for a layer that keeps no keys and values of its own (Gemma 4's KV-sharing layers).</summary>
    public void Skip(int layer, long positions) => _lengths[layer] += positions;

    /// <summary>
    /// A linear-attention layer's state after the positions seen so far (<see cref="GatedDeltaNet"/>:
    /// its convolution's last inputs and the delta rule's state), or nulls before the first.
    /// </summary>
    public (Tensor? ConvHistory, Tensor? RecurrentState) StateOf(int layer) => (_convHistory[layer], _recurrentState[layer]);

    /// <summary>Replaces <paramref name="layer"/>'s linear-attention state with the one after <paramref name="positions"/> more positions (the cache takes the tensors).</summary>
    public void SetState(int layer, Tensor convHistory, Tensor recurrentState, long positions)
    {
        _convHistory[layer]?.Dispose();
        _recurrentState[layer]?.Dispose();
        _convHistory[layer] = convHistory.DetachFromDisposeScope();
        _recurrentState[layer] = recurrentState.DetachFromDisposeScope();
        _lengths[layer] += positions;
    }

    /// <summary>A buffer of <paramref name="capacity"/> positions shaped as <paramref name="like"/>, holding the first <paramref name="used"/> positions of <paramref name="old"/> (which it disposes).</summary>
    static Tensor Grow(Tensor? old, Tensor like, long used, long capacity)
    {
        var buffer = empty([like.shape[0], like.shape[1], capacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();
        if (old is not null)
        {
            buffer.narrow(2, 0, used).copy_(old.narrow(2, 0, used));
            old.Dispose();
        }
        return buffer;
    }

    public void Dispose()
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _convHistory[i]?.Dispose();
            _recurrentState[i]?.Dispose();
            _keys[i] = _values[i] = _convHistory[i] = _recurrentState[i] = null;
            _lengths[i] = 0;
        }
    }
}
