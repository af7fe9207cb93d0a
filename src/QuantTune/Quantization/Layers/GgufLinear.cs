using System.Runtime.InteropServices;
using QuantTune.Formats.Gguf;
using QuantTune.Formats.Gguf.Kernels;
using QuantTune.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace QuantTune.Quantization.Layers;

/// <summary>
/// A frozen linear layer whose weight stays as the GGUF file stores it: <see cref="OutFeatures"/> rows of
/// <see cref="InFeatures"/> values in blocks of <see cref="Type"/>. On the CPU, y = x · Wᵀ + b runs on the blocks
/// (<see cref="GgmlMatMul"/>: activations quantized to Q8_K or Q8_0 per row, then ggml's integer dot products), so
/// the layer holds the file's bytes and decode reads each once; on another device the weight is dequantized for the
/// call. Inference only: no gradient reaches the weight or the bias.
/// </summary>
public sealed class GgufLinear : nn.Module<Tensor, Tensor>
{
    readonly byte[] _blocks;

    public readonly Parameter? bias;

    public GgmlType Type { get; }
    public long InFeatures { get; }
    public long OutFeatures { get; }

    /// <summary>Threads a forward on the CPU splits the weight rows among; all cores unless set.</summary>
    public int Degree { get; set; } = Environment.ProcessorCount;

    /// <summary>The instruction set the dot products use: the best this processor runs unless set.</summary>
    public KernelIsa Isa { get; set; } = KernelIsas.Best;

    /// <param name="blocks">the tensor's bytes as the file stores them; the layer keeps this array, uncopied</param>
    /// <param name="hasBias">whether the layer has a bias, allocated here in float32 and filled by the loader</param>
    public GgufLinear(GgmlType type, byte[] blocks, long outFeatures, long inFeatures, bool hasBias, Device? device = null) : base(nameof(GgufLinear))
    {
        if (!GgmlVecDot.HasKernel(type))
            throw new ArgumentException($"ggml type {type} has no dot-product kernel; a GgufLinear takes Q4_0, Q8_0, Q4_K, Q5_K or Q6_K", nameof(type));
        GgufBlockRows.RowBytes(type, outFeatures, inFeatures, blocks, nameof(OutFeatures), nameof(InFeatures));
        Type = type;
        _blocks = blocks;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        if (hasBias) bias = new Parameter(zeros([outFeatures], ScalarType.Float32, device), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>Bytes this layer holds: the blocks and the bias.</summary>
    public long StorageBytes => _blocks.LongLength + (bias is null ? 0 : bias.numel() * bias.ElementSize);

    /// <summary>The weight as float32 [OutFeatures, InFeatures] (<c>dequantize_row_*</c>), for a device without the kernels or a check.</summary>
    public Tensor Dequantize(Device? device = null) =>
        tensor(GgmlCodec.Dequantize(Type, _blocks, checked((int)(OutFeatures * InFeatures))), [OutFeatures, InFeatures], ScalarType.Float32, device);

    public override Tensor forward(Tensor input)
    {
        if (input.shape[^1] != InFeatures)
            throw new ArgumentException($"GgufLinear takes InFeatures {InFeatures} values per row; the input has {input.shape[^1]}");
        if (input.device_type != DeviceType.CPU)
        {
            using var w = Dequantize(input.device).to_type(input.dtype);
            return nn.functional.linear(input, w, bias?.to_type(input.dtype));
        }
        using var scope = NewDisposeScope();
        var y = MultiplyOnBlocks(input);
        if (bias is not null) y.PlusInPlace(bias);
        return y.to_type(input.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>x · Wᵀ in float32 on the blocks, shaped as x with its last dimension OutFeatures.</summary>
    Tensor MultiplyOnBlocks(Tensor input)
    {
        var x = input.detach().to_type(ScalarType.Float32).contiguous();
        var shape = input.shape.ToArray();
        shape[^1] = OutFeatures;
        var y = empty(shape, ScalarType.Float32);
        if (x.numel() == 0) return y;
        GgmlMatMul.Multiply(Type, _blocks, checked((int)OutFeatures), checked((int)InFeatures),
            MemoryMarshal.Cast<byte, float>(x.bytes), MemoryMarshal.Cast<byte, float>(y.bytes), Degree, Isa);
        return y;
    }
}
