using QuantTune.Formats.Gguf;
using Embedding = QuantTune.Models.Layers.Embedding;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Layers;

/// <summary>
/// A token embedding whose table stays as the GGUF file stores it: each looked-up row is dequantized from its blocks
/// (<c>dequantize_row_*</c>) when it is gathered. Its <see cref="Embedding.weight"/> is a placeholder on the meta device
/// (the shape, no storage), so code that reads the float table (training, adapters) cannot run on it: inference only.
/// </summary>
public sealed class GgufEmbedding : Embedding
{
    readonly byte[] _blocks;
    readonly long _rowBytes;

    public GgmlType Type { get; }
    public long Vocab { get; }
    public long Dim { get; }

    /// <summary>The dtype of the rows it returns (the model's).</summary>
    public ScalarType DType { get; }

    /// <param name="blocks">the table's bytes as the file stores them, <paramref name="vocab"/> rows of <paramref name="dim"/>; kept uncopied</param>
    public GgufEmbedding(GgmlType type, byte[] blocks, long vocab, long dim, ScalarType dtype)
        : base(new Parameter(empty([vocab, dim], dtype, new Device(TorchSharp.DeviceType.META)), requires_grad: false))
    {
        _rowBytes = GgufBlockRows.RowBytes(type, vocab, dim, blocks, nameof(Vocab), nameof(Dim));
        _blocks = blocks;
        Type = type;
        Vocab = vocab;
        Dim = dim;
        DType = dtype;
    }

    /// <summary>Bytes this layer holds: the blocks.</summary>
    public long StorageBytes => _blocks.LongLength;

    public override Tensor forward(Tensor ids)
    {
        long[] flat = ids.reshape(-1).cpu().to_type(ScalarType.Int64).data<long>().ToArray();
        var rows = new float[flat.LongLength * Dim];
        for (int i = 0; i < flat.Length; i++)
        {
            long id = flat[i];
            if (id < 0 || id >= Vocab) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is outside the embedding's Vocab {Vocab} rows");
            var row = GgmlCodec.Dequantize(Type, _blocks.AsSpan(checked((int)(id * _rowBytes)), (int)_rowBytes), (int)Dim);
            row.CopyTo(rows, i * Dim);
        }
        using var cpu = tensor(rows, ids.shape.Append(Dim).ToArray(), ScalarType.Float32);
        return cpu.to(DType, ids.device);
    }
}
