using QuantTune.Models.Transformer;

namespace QuantTune.SideTuning;

/// <summary>
/// What incremental QST decoding keeps between steps: the backbone's KV cache and the side
/// network's own (one entry per side decoder layer). The downsamplers, gates and output mix act
/// on each position alone, so they need nothing cached.
/// </summary>
public sealed class QstCache(int backboneLayers, int sideLayers) : IDisposable
{
    public KvCache Backbone { get; } = new(backboneLayers);
    public KvCache Side { get; } = new(sideLayers);

    /// <summary>Positions fed so far.</summary>
    public long Length => Side.Length;

    public void Dispose()
    {
        Backbone.Dispose();
        Side.Dispose();
    }
}
