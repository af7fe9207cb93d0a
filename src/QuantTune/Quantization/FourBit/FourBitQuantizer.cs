using QuantTune.Diagnostics;
using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Quantization.FourBit;

/// <summary>
/// NF4 or FP4 block-wise quantization as bitsandbytes does it (<c>Linear4bit</c>), optionally
/// with double quantization: the per-block absmax constants, centred on their mean, are stored
/// as 8-bit codes of the dynamic map in blocks of 256 with one fp32 constant each, cutting the
/// constants' cost from 32/B to 8/B + 32/(256·B) bits per weight (0.127 at B = 64).
/// </summary>
public sealed class FourBitQuantizer : IQuantizer
{
    public const int NestedBlockSize = 256;

    public FourBitType Type { get; }
    public int BlockSize { get; }
    public bool DoubleQuant { get; }

    public FourBitQuantizer(FourBitType type, int blockSize = 64, bool doubleQuant = true)
    {
        if (blockSize < 32 || blockSize > 4096 || (blockSize & (blockSize - 1)) != 0)
            throw new InvalidSettingException("FourBitQuantizer.BlockSize", blockSize, "4-bit block size must be a power of two from 32 to 4096");
        Type = type;
        BlockSize = blockSize;
        DoubleQuant = doubleQuant;
    }

    public string Scheme => $"{FourBitCodebooks.Name(Type)}-block{BlockSize}" + (DoubleQuant ? "-dq" : "");

    public QuantizedTensor Quantize(Tensor x) => Quantize(x, x.dtype);

    /// <param name="originalDType">the dtype recorded in quant_state (what dequantization returns by default)</param>
    public FourBitTensor Quantize(Tensor x, ScalarType originalDType)
    {
        if (x.numel() < BlockSize)
            throw new InvalidSettingException("FourBitQuantizer.BlockSize", BlockSize, $"larger than the tensor ({x.numel()} elements)");
        using var scope = NewDisposeScope();
        var (codes, absmax) = BlockwiseCodebook.Quantize(x, FourBitCodebooks.For(Type), BlockSize);
        var packed = NibblePacking.Pack(codes);
        var quantMap = tensor(FourBitCodebooks.For(Type), device: x.device);
        FourBitTensor result;
        if (!DoubleQuant)
        {
            result = new FourBitTensor(x.shape, Type, BlockSize, originalDType, packed, absmax, quantMap, null);
        }
        else
        {
            float offset = absmax.mean().item<float>();
            var centred = absmax.Minus(offset);
            var (nestedCodes, nestedAbsmax) = BlockwiseCodebook.Quantize(centred, DynamicMap.Signed, NestedBlockSize);
            var nested = new NestedAbsmax(nestedCodes, nestedAbsmax, tensor(DynamicMap.Signed, device: x.device), NestedBlockSize, offset);
            result = new FourBitTensor(x.shape, Type, BlockSize, originalDType, packed, null, quantMap, nested);
        }
        foreach (var t in result.Tensors.Values) t.MoveToOuterDisposeScope();
        return result;
    }
}
