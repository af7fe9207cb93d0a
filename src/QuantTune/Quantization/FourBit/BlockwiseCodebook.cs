using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.FourBit;

/// <summary>
/// Block-wise absmax quantization onto a codebook, as bitsandbytes' reference (CPU) kernels do
/// it: per block of B consecutive elements of the flattened tensor, absmax = max|x|; each
/// element x·(1/absmax), clamped to [-1, 1], becomes the index of the nearest codebook value
/// (ties go to the lower index, as argmin does). A last, partial block has its own absmax.
/// </summary>
public static class BlockwiseCodebook
{
    /// <returns>codes (uint8, one per element, flattened) and absmax (fp32, one per block)</returns>
    public static (Tensor Codes, Tensor Absmax) Quantize(Tensor x, float[] codebook, int blockSize)
    {
        using var scope = NewDisposeScope();
        var flat = x.detach().to_type(ScalarType.Float32).flatten();
        long n = flat.numel();
        long blocks = (n + blockSize - 1) / blockSize;
        long padded = blocks * blockSize;
        var groups = padded == n ? flat.view(blocks, blockSize)
            : cat([flat, zeros(padded - n, device: flat.device)]).view(blocks, blockSize);
        var absmax = groups.abs().amax([1]);
        // An all-zero block has absmax 0: scale by 0 instead of producing NaN from 1/0.
        var inverse = where(absmax.GreaterThan(0), absmax.Dividing(1.0f), zeros_like(absmax));
        var scaled = (groups * inverse.unsqueeze(1)).Clamped(-1, 1).flatten().narrow(0, 0, n);
        var codes = NearestIndex(scaled, codebook);
        return (codes.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    /// <summary>values[code] · absmax[block] as fp32, flattened.</summary>
    public static Tensor Dequantize(Tensor codes, Tensor absmax, Tensor codebook, int blockSize)
    {
        using var scope = NewDisposeScope();
        long n = codes.numel();
        long blocks = absmax.numel();
        var values = codebook.to_type(ScalarType.Float32).index_select(0, codes.flatten().to_type(ScalarType.Int64));
        long padded = blocks * blockSize;
        if (padded != n) values = cat([values, zeros(padded - n, device: values.device)]);
        var result = (values.view(blocks, blockSize) * absmax.to_type(ScalarType.Float32).unsqueeze(1)).flatten().narrow(0, 0, n);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Index of the nearest codebook value for each element (ties to the lower index): a
    /// bucketize over the midpoints of the sorted distinct values, so memory stays O(n).
    /// </summary>
    public static Tensor NearestIndex(Tensor values, float[] codebook)
    {
        using var scope = NewDisposeScope();
        // Distinct values in ascending order, each remembering its lowest index (argmin's tie rule).
        var distinct = codebook.Select((v, i) => (v, i)).GroupBy(p => p.v).Select(g => (Value: g.Key, Index: g.Min(p => p.i)))
            .OrderBy(p => p.Value).ToArray();
        var midpoints = new float[distinct.Length - 1];
        for (int k = 0; k < midpoints.Length; k++) midpoints[k] = (distinct[k].Value + distinct[k + 1].Value) / 2f;
        var boundaries = tensor(midpoints, device: values.device);
        var position = values.contiguous().bucketize(boundaries); // boundaries[k-1] < v <= boundaries[k] → k
        // At an exact midpoint bucketize picks the lower value; argmin picks the lower index.
        // The two differ only when the lower value has the higher index: resolve those ties.
        var indexOf = tensor(distinct.Select(d => (byte)d.Index).ToArray(), device: values.device);
        var codes = indexOf.index_select(0, position);
        for (int k = 0; k < midpoints.Length; k++)
        {
            if (distinct[k].Index < distinct[k + 1].Index) continue;
            var atTie = values.EqualTo(midpoints[k]);
            codes = where(atTie, tensor((byte)distinct[k + 1].Index, device: values.device), codes);
        }
        return codes.MoveToOuterDisposeScope();
    }
}
