using QuantTune.Quantization.FourBit;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Training.Optimizers;

/// <summary>
/// One Adam moment of one parameter kept as 8-bit block-wise state (Dettmers et al. 2022):
/// one uint8 code per element into a 256-value dynamic map and one fp32 absmax per block of
/// <see cref="BlockSize"/> elements. Between steps only codes and absmax exist; a step
/// dequantizes, updates in 32 bits and stores the result again with fresh block absmax values.
/// </summary>
internal sealed class BlockwiseMoment : IDisposable
{
    public const int BlockSize = 256;

    readonly float[] _map;
    readonly Tensor _mapTensor;

    /// <summary>uint8 codes, flattened, one per parameter element.</summary>
    public Tensor Codes { get; }

    /// <summary>fp32 absmax, one per block of <see cref="BlockSize"/> elements (the last block may be partial).</summary>
    public Tensor Absmax { get; }

    readonly long[] _shape;

    public BlockwiseMoment(long[] shape, float[] map, Device device)
    {
        _shape = shape;
        _map = map;
        long n = shape.Aggregate(1L, (a, b) => a * b);
        long blocks = (n + BlockSize - 1) / BlockSize;
        // All-zero state: the code of 0 with absmax 0 (any code would decode to 0 with absmax 0).
        byte zeroCode = (byte)Array.IndexOf(map, 0f);
        Codes = PinnedScalarMath.Full([n], zeroCode, ScalarType.Byte, device);
        Absmax = zeros(blocks, ScalarType.Float32, device);
        _mapTensor = tensor(map, device: device);
    }

    public long Bytes => Codes.numel() * Codes.ElementSize + Absmax.numel() * Absmax.ElementSize;

    /// <summary>The moment as fp32 in the parameter's shape (a new tensor in the caller's scope).</summary>
    public Tensor Dequantize() => BlockwiseCodebook.Dequantize(Codes, Absmax, _mapTensor, BlockSize).view(_shape);

    /// <summary>Re-quantizes <paramref name="values"/> (nearest code, block-wise absmax) into this state.</summary>
    public void Store(Tensor values)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (codes, absmax) = BlockwiseCodebook.Quantize(values, _map, BlockSize);
        Codes.copy_(codes);
        Absmax.copy_(absmax);
    }

    public IEnumerable<StateEntry> Entries(string key)
    {
        yield return StateEntry.ForTensor($"{key}.codes", Codes);
        yield return StateEntry.ForTensor($"{key}.absmax", Absmax);
    }

    public void Dispose()
    {
        Codes.Dispose();
        Absmax.Dispose();
        _mapTensor.Dispose();
    }
}
