using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The RoPE tables each layer of a stack rotates by: one cached table (<see cref="RopeTableCache"/>)
/// for the config's RoPE, and a second for the sliding-window layers where the family gives them
/// their own base (Gemma 3: 10 000 locally, 1 000 000 globally).
/// </summary>
public sealed class LayerRopes : IDisposable
{
    readonly RotaryEmbedding _global;
    readonly RopeTableCache _globalTables;
    readonly RotaryEmbedding? _local;
    readonly RopeTableCache? _localTables;
    readonly bool[] _usesLocal;

    /// <param name="layers">the config's layer indices these tables serve, in order (QST's side layers serve the fed layers)</param>
    public LayerRopes(ModelConfig c, int headDim, Device device, IReadOnlyList<int>? layers = null)
    {
        layers ??= Enumerable.Range(0, c.NumLayers).ToArray();
        _global = new RotaryEmbedding(c.Rope, headDim, device);
        _globalTables = new RopeTableCache(_global);
        _usesLocal = layers.Select(l => c.LocalRope is not null && c.IsSliding(l)).ToArray();
        if (_usesLocal.Any(u => u))
        {
            _local = new RotaryEmbedding(c.LocalRope!, headDim, device);
            _localTables = new RopeTableCache(_local);
        }
    }

    /// <summary>cos and sin [length, headDim] of layer <paramref name="layer"/> (an index into the served layers) for positions start..start+length-1 (views the caller may dispose).</summary>
    public (Tensor Cos, Tensor Sin) For(int layer, long start, long length, ScalarType dtype) =>
        (_usesLocal[layer] ? _localTables! : _globalTables).CosSin(start, length, dtype);

    public void Dispose()
    {
        _globalTables.Dispose();
        _global.Dispose();
        _localTables?.Dispose();
        _local?.Dispose();
    }
}
