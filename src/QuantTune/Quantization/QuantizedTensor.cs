using static TorchSharp.torch;

namespace QuantTune.Quantization;

/// <summary>
/// A tensor in quantized storage: packed codes plus the constants needed to dequantize them.
/// <see cref="StorageBytes"/> counts both, so <see cref="BitsPerWeight"/> is the true cost.
/// <see cref="Tensors"/> and <see cref="Metadata"/> serialize it (see <see cref="QuantizedTensorStorage"/>).
/// </summary>
public abstract class QuantizedTensor : IDisposable
{
    protected QuantizedTensor(long[] shape) => Shape = shape;

    /// <summary>Shape of the original (dequantized) tensor.</summary>
    public long[] Shape { get; }
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The scheme, e.g. "int4-absmax-block64" or "nf4-block64-dq"; also the key <see cref="QuantizedTensorStorage.Load"/> loads by.</summary>
    public abstract string Scheme { get; }

    /// <summary>The tensor as real numbers again, of shape <see cref="Shape"/>.</summary>
    public abstract Tensor Dequantize(ScalarType dtype = ScalarType.Float32);

    /// <summary>
    /// Rows [start, start + count) of a 2-D weight. Schemes whose storage allows it override this
    /// to dequantize only those rows, so that a layer never materialises the whole weight.
    /// </summary>
    public virtual Tensor DequantizeRows(long start, long count, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        return Dequantize(dtype).view(Shape[0], -1).narrow(0, start, count).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Bytes of packed codes and all constants.</summary>
    public long StorageBytes => Tensors.Values.Sum(t => t.numel() * t.ElementSize);

    public double BitsPerWeight => StorageBytes * 8.0 / ElementCount;

    /// <summary>The stored tensors by suffix (e.g. "" for the codes, "absmax", "scale").</summary>
    public abstract IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Everything besides tensors needed to load it back (bits, block size, shape, ...).</summary>
    public abstract IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Moves the stored tensors to a device.</summary>
    public abstract QuantizedTensor To(Device device);

    public virtual void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Turns a real tensor into a <see cref="QuantizedTensor"/> of one scheme.</summary>
public interface IQuantizer
{
    /// <summary>The scheme name the results carry.</summary>
    string Scheme { get; }

    QuantizedTensor Quantize(Tensor x);
}
