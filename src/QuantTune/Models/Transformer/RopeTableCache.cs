using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The RoPE cos/sin tables of <see cref="RotaryEmbedding.CosSin"/> for positions 0..capacity-1,
/// computed once per dtype and handed out as views, so that a decode step does not rebuild them
/// (positions, outer product, cos, sin: ten operations per forward pass). The capacity grows in
/// blocks of <see cref="Block"/> positions as longer sequences come.
/// </summary>
public sealed class RopeTableCache(RotaryEmbedding rope) : IDisposable
{
    public const long Block = 256;
    readonly Dictionary<ScalarType, (Tensor Cos, Tensor Sin)> _tables = [];

    /// <summary>Positions the tables hold now.</summary>
    public long Capacity { get; private set; }

    /// <summary>cos and sin [length, headDim] for positions start..start+length-1: views of the cached tables (the caller disposes the views only).</summary>
    public (Tensor Cos, Tensor Sin) CosSin(long start, long length, ScalarType dtype)
    {
        if (start + length > Capacity)
        {
            Clear();
            Capacity = (start + length + Block - 1) / Block * Block;
        }
        if (!_tables.TryGetValue(dtype, out var t))
        {
            // Ordinary tensors even when the first caller decodes under inference mode: training uses the same tables.
            using var _ = inference_mode(false);
            using var __ = no_grad();
            var (cos, sin) = rope.CosSin(0, Capacity, dtype);
            t = (cos.DetachFromDisposeScope(), sin.DetachFromDisposeScope());
            _tables[dtype] = t;
        }
        return (t.Cos.narrow(0, start, length), t.Sin.narrow(0, start, length));
    }

    void Clear()
    {
        foreach (var (cos, sin) in _tables.Values)
        {
            cos.Dispose();
            sin.Dispose();
        }
        _tables.Clear();
    }

    public void Dispose() => Clear();
}
