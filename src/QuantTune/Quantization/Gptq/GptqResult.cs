using static TorchSharp.torch;

namespace QuantTune.Quantization.Gptq;

/// <summary>
/// One quantized weight matrix as GPTQ (or RTN on the same grid) leaves it: signed codes
/// [out, in] in the original column order, the constants per (row, group), each column's group,
/// and the dequantized weights, all on the CPU. Owns its tensors.
/// </summary>
public sealed class GptqResult : IDisposable
{
    GptqResult(Tensor codes, Tensor scale, Tensor? zero, Tensor groupIndex, Tensor weights, GptqSettings settings)
    {
        Codes = codes;
        Scale = scale;
        Zero = zero;
        GroupIndex = groupIndex;
        Weights = weights;
        Settings = settings;
    }

    /// <summary>Signed integer codes, as floats of the compute dtype.</summary>
    public Tensor Codes { get; }
    public Tensor Scale { get; }
    public Tensor? Zero { get; }
    /// <summary>int32 [in].</summary>
    public Tensor GroupIndex { get; }
    /// <summary>The dequantized weights Q [out, in] (compute dtype).</summary>
    public Tensor Weights { get; }
    public GptqSettings Settings { get; }

    internal static GptqResult Create(Tensor codes, Tensor scale, Tensor? zero, Tensor groupIndex, GptqSettings settings) =>
        new(codes, scale, zero, groupIndex, GptqTensor.Reconstruct(codes, scale, zero, groupIndex), settings);

    internal GptqResult MoveToOuterDisposeScope()
    {
        foreach (var t in All()) t.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>The packed, storable form (a new tensor; this result stays valid).</summary>
    public GptqTensor ToTensor() =>
        GptqTensor.FromCodes(Codes, Scale, Zero, GroupIndex, Settings.Bits, Settings.Mode, Settings.GroupSize, Settings.ActOrder);

    /// <summary>
    /// The mean squared output error over the calibration tokens, (1/n)·Σ‖(W − Q)x‖² =
    /// tr((W − Q) H (W − Q)ᵀ)/2 for H = 2/n·Σ x xᵀ: the product in H's dtype, the sum in float64.
    /// </summary>
    public double OutputError(Tensor weight, Tensor hessian) => OutputError(weight, Weights, hessian);

    internal static double OutputError(Tensor weight, Tensor quantized, Tensor hessian)
    {
        using var scope = NewDisposeScope();
        var d = weight.to(hessian.dtype, hessian.device) - quantized.to(hessian.dtype, hessian.device);
        return d.matmul(hessian).mul_(d).sum(ScalarType.Float64).item<double>() / 2;
    }

    IEnumerable<Tensor> All()
    {
        yield return Codes;
        yield return Scale;
        if (Zero is not null) yield return Zero;
        yield return GroupIndex;
        yield return Weights;
    }

    public void Dispose()
    {
        foreach (var t in All()) t.Dispose();
    }
}
