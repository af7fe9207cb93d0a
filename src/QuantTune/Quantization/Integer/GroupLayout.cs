using QuantTune.Diagnostics;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Integer;

/// <summary>
/// How a tensor of a given shape splits into groups that share a scale: <see cref="Groups"/> rows
/// of <see cref="GroupSize"/> elements of the flattened tensor. For blocks that do not divide the
/// element count the last block is padded with <see cref="Padding"/> elements.
/// </summary>
/// <param name="Elements">Elements of the real tensor.</param>
/// <param name="Groups">Number of groups (scales).</param>
/// <param name="GroupSize">Elements per group, padding included.</param>
/// <param name="Padding">Elements added after the last real one so that Groups·GroupSize = Elements + Padding.</param>
public readonly record struct GroupLayout(long Elements, long Groups, long GroupSize, long Padding)
{
    /// <summary>The layout of a tensor of <paramref name="shape"/>; throws a <see cref="QuantTuneException"/> when the granularity cannot apply.</summary>
    public static GroupLayout For(long[] shape, Granularity granularity, int blockSize)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        if (n == 0)
            throw new QuantTuneException($"quantize: the tensor of shape [{string.Join(", ", shape)}] has no elements; expected at least one");
        switch (granularity)
        {
            case Granularity.Tensor:
                return new GroupLayout(n, 1, n, 0);
            case Granularity.Channel:
                if (shape.Length < 2)
                    throw new InvalidSettingException("IntegerScheme.Granularity", "channel", $"needs a weight of rank ≥ 2 ([out, in]), one scale per row; got shape [{string.Join(", ", shape)}]");
                return new GroupLayout(n, shape[0], n / shape[0], 0);
            case Granularity.Block:
                if (blockSize < 2)
                    throw new InvalidSettingException("IntegerScheme.BlockSize", blockSize, "not a block size; expected at least 2 elements per block");
                if (blockSize > n)
                    throw new InvalidSettingException("IntegerScheme.BlockSize", blockSize, $"a block of {blockSize} elements is larger than the tensor of shape [{string.Join(", ", shape)}] with {n} elements; expected a block of at most {n} elements (or per-tensor granularity)");
                long groups = (n + blockSize - 1) / blockSize;
                return new GroupLayout(n, groups, blockSize, groups * blockSize - n);
            default:
                throw new InvalidSettingException("IntegerScheme.Granularity", (int)granularity, "not a granularity; expected tensor, channel or block");
        }
    }

    /// <summary>
    /// <paramref name="x"/> flattened to [Groups, GroupSize]. Padding repeats the last element, so the
    /// padded block's min, max and max|x| — and with them its scale — are those of its real elements.
    /// </summary>
    internal Tensor Arrange(Tensor x)
    {
        var flat = x.flatten();
        if (Padding > 0) flat = cat(new[] { flat, flat.narrow(0, Elements - 1, 1).expand(Padding) }, 0);
        return flat.view(Groups, GroupSize);
    }
}
