using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The RoPE tables each layer of a stack rotates by: one cached table (<see cref="RopeTableCache"/>)
/// for the config's RoPE, and a second for the sliding-window layers where the family gives them
/// their own base (Gemma 3: 10 000 locally, 1 000 000 globally), and where the global layers' heads are larger,
/// their size (Gemma 4).
/// </summary>
public sealed class LayerRopes : IDisposable
{
    readonly RotaryEmbedding _global;
    readonly RopeTableCache _globalTables;
    readonly RotaryEmbedding? _local;
    readonly RopeTableCache? _localTables;
    readonly RotaryEmbedding? _long;
    readonly RopeTableCache? _longTables;
    readonly RopeConfig _rope;
    readonly bool[] _usesLocal;

    /// <param name="headDim">the head size of the layers served; the rotated part is the config's share of it (<see cref="ModelConfig.RotaryDimOf"/>)</param>
    /// <param name="layers">the config's layer indices these tables serve, in order (QST's side layers serve the fed layers)</param>
    public LayerRopes(ModelConfig c, int headDim, Device device, IReadOnlyList<int>? layers = null)
    {
        layers ??= Enumerable.Range(0, c.NumLayers).ToArray();
        int rotaryDim = c.RotaryDimOf(headDim);
        _rope = c.Rope;
        // Gemma 4: the full-attention layers' heads are larger (global_head_dim) than the sliding ones'
        int globalDim = c.GlobalHeadDim is int g && headDim == c.HeadDim ? c.RotaryDimOf(g) : rotaryDim;
        _global = new RotaryEmbedding(c.Rope, globalDim, device);
        _globalTables = new RopeTableCache(_global);
        if (c.Rope.Type == "longrope")
        {
            _long = new RotaryEmbedding(c.Rope, rotaryDim, device, longFactors: true);
            _longTables = new RopeTableCache(_long);
        }
        _usesLocal = layers.Select(l => c.LocalRope is not null && c.IsSliding(l)).ToArray();
        if (_usesLocal.Any(u => u))
        {
            _local = new RotaryEmbedding(c.LocalRope!, rotaryDim, device);
            _localTables = new RopeTableCache(_local);
        }
    }

    /// <summary>
    /// cos and sin [length, rotated dims] of layer <paramref name="layer"/> (an index into the served layers) for
    /// positions start..start+length-1 (views the caller may dispose). With LongRoPE a pass whose last position is past
    /// the original context takes the long factors for all its positions, as transformers' longrope update does.
    /// </summary>
    public (Tensor Cos, Tensor Sin) For(int layer, long start, long length, ScalarType dtype) =>
        (_usesLocal[layer] ? _localTables! : _rope.UsesLongFactors(start + length) ? _longTables! : _globalTables).CosSin(start, length, dtype);

    public void Dispose()
    {
        _globalTables.Dispose();
        _global.Dispose();
        _longTables?.Dispose();
        _long?.Dispose();
        _localTables?.Dispose();
        _local?.Dispose();
    }
}
